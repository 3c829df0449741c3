using System.Net;
using System.Text;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>Behaviour that depends on the real server: its routing of "/v2/", body limits and chunked bodies.</summary>
public sealed class KestrelTests(KestrelTests.Registry registry) : IClassFixture<KestrelTests.Registry>
{
    private readonly HttpClient _client = registry.Client;

    [Fact]
    public async Task ProbeAnswers200OverARealConnection()
    {
        using var response = await _client.GetAsync("/v2/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("registry/2.0", Header(response, "Docker-Distribution-API-Version"));
    }

    [Fact]
    public async Task UploadLargerThanTheServersDefaultBodyLimitSucceeds()
    {
        // Kestrel refuses bodies over 30 MB unless the endpoint lifts the limit, as upload routes do.
        var repository = Names.Unique("kestrel");
        var blob = TestBlob.Random(40 * 1024 * 1024);

        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={blob.Digest}", blob.Content);
        using var head = await _client.SendAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{blob.Digest}");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(blob.Size, head.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task ChunkedTransferEncodingPatchIsStreamedIn()
    {
        var repository = Names.Unique("kestrel");
        var blob = TestBlob.Random(500_000);
        var location = await _client.StartUploadAsync(repository);
        using var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(blob.Content) };
        request.Headers.TransferEncodingChunked = true;

        using var patch = await _client.SendAsync(request);
        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(Location(patch), blob.Digest));

        Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        Assert.Equal("0-499999", Header(patch, "Range"));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [Theory]
    [InlineData("Content-Length: 0\r\nContent-Type: application/octet-stream\r\n")]
    [InlineData("")]
    public async Task FinalPutWithEmptyBodyCompletesTheUpload(string headers)
    {
        // Exactly what clients put on the wire: "Content-Length: 0", or no body headers at all.
        var repository = Names.Unique("kestrel");
        var blob = TestBlob.Random(100);
        var location = await _client.StartUploadAsync(repository);
        using var patch = await _client.PatchChunkAsync(location, blob.Content, start: 0);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var connection = await RawHttpConnection.OpenAsync(_client.BaseAddress!.Port, cts.Token);
        var token = await registry.IssueTokenAsync($"repository:{repository}:pull,push");

        await connection.SendAsync($"PUT {WithDigest(location, blob.Digest)} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n{headers}\r\n");
        var put = await connection.ReadResponseAsync();

        Assert.Equal(201, put?.Status);
        Assert.Equal($"/v2/{repository}/blobs/{blob.Digest}", put?.Headers["Location"]);
    }

    [Fact]
    public async Task ChunkedBodyLongerThanItsContentRangeIsRefusedWithAnError()
    {
        var location = await _client.StartUploadAsync(Names.Unique("kestrel"));
        using var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new ByteArrayContent(new byte[100]) };
        request.Headers.TransferEncodingChunked = true;
        request.Content.Headers.TryAddWithoutValidation("Content-Range", "0-9");

        using var patch = await _client.SendAsync(request);
        using var status = await _client.GetAsync(location);

        await AssertErrorAsync(patch, HttpStatusCode.BadRequest, "SIZE_INVALID");
        Assert.Equal("0-0", Header(status, "Range"));
    }

    [Fact]
    public async Task ConnectionStaysUsableAfterARefusedChunkedBody()
    {
        // After an error the server drains what is left of the body and keeps the connection;
        // a body reader left mid-read makes that drain fail and the connection drop.
        var repository = Names.Unique("kestrel");
        var location = await _client.StartUploadAsync(repository);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        using var connection = await RawHttpConnection.OpenAsync(_client.BaseAddress!.Port, cts.Token);
        var token = await registry.IssueTokenAsync($"repository:{repository}:pull,push");
        var chunked = Encoding.ASCII.GetBytes("64\r\n").Concat(new byte[100]).Concat(Encoding.ASCII.GetBytes("\r\n0\r\n\r\n")).ToArray();

        await connection.SendAsync($"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nTransfer-Encoding: chunked\r\nContent-Range: 0-9\r\n\r\n", chunked);
        var refused = await connection.ReadResponseAsync();
        await connection.SendAsync($"GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n\r\n");
        var next = await connection.ReadResponseAsync();

        Assert.Equal(400, refused?.Status);
        Assert.Equal(200, next?.Status);
    }

    /// <summary>The fixture: one registry on Kestrel at 127.0.0.1 for the whole class.</summary>
    public sealed class Registry : IAsyncLifetime
    {
        private readonly RegistryFactory _factory = new RegistryFactory().OnKestrel();

        public HttpClient Client { get; private set; } = null!;

        /// <summary>An administrator's token for requests written by hand.</summary>
        public Task<string> IssueTokenAsync(params string[] scopes) => _factory.IssueTokenAsync(scopes);

        public Task InitializeAsync()
        {
            Client = _factory.CreateRegistryClient(_factory.StartKestrel());
            return Task.CompletedTask;
        }

        // xunit 2 disposes class fixtures through IDisposable or IAsyncLifetime only.
        public async Task DisposeAsync()
        {
            Client.Dispose();
            await _factory.DisposeAsync();
        }
    }
}
