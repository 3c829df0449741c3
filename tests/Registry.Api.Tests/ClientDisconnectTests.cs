using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>
/// A client that goes away in the middle of a request body. The in-memory test server cannot cut a
/// body short, so these tests run the registry on Kestrel at 127.0.0.1 and write the request on a
/// raw socket: headers that promise more bytes than are sent, then the connection closes.
/// </summary>
public sealed class ClientDisconnectTests : IAsyncLifetime
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    private readonly RegistryFactory _registry = new RegistryFactory().OnKestrel();
    private Uri _address = null!;
    private HttpClient _client = null!;

    public Task InitializeAsync()
    {
        _address = _registry.StartKestrel();
        Assert.Equal(IPAddress.Loopback.ToString(), _address.Host);
        _client = _registry.CreateRegistryClient(_address);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task ChunkCutOffMidwayLeavesTheOffsetWhereItWas()
    {
        var repository = Names.Unique("abort");
        var blob = TestBlob.Random(4000);
        var location = await _client.StartUploadAsync(repository);
        using var first = await _client.PatchChunkAsync(location, blob.Content[..1000], start: 0);
        Assert.Equal("0-999", Header(first, "Range"));

        await SendTruncatedAsync("PATCH", repository, location, declaredLength: 3000, blob.Content[1000..2500], "Content-Range: 1000-3999");

        // The next chunk waits for the aborted one to be undone, and must continue at byte 1000.
        using var retry = await _client.PatchChunkAsync(location, blob.Content[1000..], start: 1000);
        Assert.Equal(HttpStatusCode.Accepted, retry.StatusCode);
        Assert.Equal("0-3999", Header(retry, "Range"));
        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(location, blob.Digest));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [Fact]
    public async Task StreamedChunkCutOffMidwayIsUndone()
    {
        var repository = Names.Unique("abort");
        var location = await _client.StartUploadAsync(repository);
        using var first = await _client.PatchChunkAsync(location, new byte[500], start: null);

        await SendTruncatedAsync("PATCH", repository, location, declaredLength: 2000, new byte[800]);

        await AssertRangeSettlesAsync(location, "0-499");
    }

    [Fact]
    public async Task MonolithicUploadCutOffLeavesNoBlobAndNoStagedBytes()
    {
        var repository = Names.Unique("abort");
        var blob = TestBlob.Random(3000);

        await SendTruncatedAsync("POST", repository, $"/v2/{repository}/blobs/uploads/?digest={blob.Digest}", declaredLength: blob.Size, blob.Content[..1200]);

        var uploads = Path.Combine(_registry.DataDirectory, "uploads");
        await WaitUntilAsync(() => Directory.GetFiles(uploads).Length == 0, "staged bytes of the aborted upload were not removed");
        Assert.Equal(HttpStatusCode.NotFound, await _client.StatusAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{blob.Digest}"));
    }

    [Fact]
    public async Task FinalPutCutOffLeavesTheUploadResumable()
    {
        var repository = Names.Unique("abort");
        var blob = TestBlob.Random(2000);
        var location = await _client.StartUploadAsync(repository);
        using var first = await _client.PatchChunkAsync(location, blob.Content[..500], start: 0);

        await SendTruncatedAsync("PUT", repository, WithDigest(location, blob.Digest), declaredLength: 1500, blob.Content[500..1000]);

        await AssertRangeSettlesAsync(location, "0-499");
        Assert.Equal(HttpStatusCode.NotFound, await _client.StatusAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{blob.Digest}"));
    }

    /// <summary>Sends headers (with a token for <paramref name="repository"/>) declaring <paramref name="declaredLength"/> bytes, only <paramref name="sent"/> of them, then closes.</summary>
    private async Task SendTruncatedAsync(string method, string repository, string target, long declaredLength, byte[] sent, string? extraHeader = null)
    {
        using var cts = new CancellationTokenSource(Deadline);
        var token = await _registry.IssueTokenAsync($"repository:{repository}:pull,push");
        using var connection = await RawHttpConnection.OpenAsync(_address.Port, cts.Token);
        var head = $"{method} {target} HTTP/1.1\r\nHost: {_address.Authority}\r\nAuthorization: Bearer {token}\r\n"
            + $"Content-Type: application/octet-stream\r\nContent-Length: {declaredLength}\r\n"
            + (extraHeader is null ? string.Empty : extraHeader + "\r\n")
            + "\r\n";
        await connection.SendAsync(head, sent);
        // Give the server time to start on the body, so the cut lands mid-request, not before it.
        await Task.Delay(300, cts.Token);
        connection.Close();
    }

    /// <summary>The aborted request is undone asynchronously; its Range must come back to <paramref name="expected"/>.</summary>
    private async Task AssertRangeSettlesAsync(string location, string expected)
    {
        string? range = null;
        await WaitUntilAsync(async () =>
        {
            using var status = await _client.GetAsync(location);
            Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
            range = Header(status, "Range");
            return range == expected;
        }, $"upload Range did not return to {expected}");
        Assert.Equal(expected, range);
    }

    private static Task WaitUntilAsync(Func<bool> condition, string failure) => WaitUntilAsync(() => Task.FromResult(condition()), failure);

    private static async Task WaitUntilAsync(Func<Task<bool>> condition, string failure)
    {
        var deadline = DateTime.UtcNow + Deadline;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, failure);
            await Task.Delay(50);
        }
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _registry.DisposeAsync();
    }
}
