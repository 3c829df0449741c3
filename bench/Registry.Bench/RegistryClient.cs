using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;

namespace Registry.Bench;

/// <summary>The few OCI Distribution API calls the benchmark needs, with strict status checks.</summary>
internal sealed class RegistryClient : IDisposable
{
    private const int CopyBufferSize = 1 << 20;

    private readonly HttpClient _http;
    private readonly Uri _base;

    /// <param name="credentials">Used only if the registry challenges for a token (see <see cref="BearerTokenHandler"/>).</param>
    public RegistryClient(Uri baseUri, RegistryCredentials? credentials)
    {
        _base = baseUri;
        _http = CreateHttpClient(new BearerTokenHandler(credentials, TimeProvider.System) { InnerHandler = CreateSocketsHandler() });
    }

    /// <summary>A client that never goes through a proxy: all traffic must stay on 127.0.0.1.</summary>
    public static HttpClient CreateHttpClient() => CreateHttpClient(CreateSocketsHandler());

    public HttpClient Http => _http;

    public Uri Url(string relative) => new(_base, relative);

    /// <summary>POST then one PUT carrying the whole body (the monolithic two-step flow every client supports).</summary>
    public async Task UploadMonolithicAsync(string repo, BlobVariant blob)
    {
        var location = await StartUploadAsync(repo);
        using var body = blob.OpenRange(0, blob.Length);
        using var content = OctetStream(new StreamContent(body, CopyBufferSize));
        using var request = new HttpRequestMessage(HttpMethod.Put, WithDigest(location, blob.Digest)) { Content = content };
        using var response = await _http.SendAsync(request);
        await ExpectAsync(response, HttpStatusCode.Created, "PUT blob upload");
    }

    /// <summary>POST, PATCH each chunk with Content-Range "start-end", then PUT ?digest= with no body.</summary>
    public async Task UploadChunkedAsync(string repo, BlobVariant blob, long chunkSize)
    {
        var location = await StartUploadAsync(repo);
        for (long start = 0; start < blob.Length; start += chunkSize)
        {
            var count = Math.Min(chunkSize, blob.Length - start);
            using var body = blob.OpenRange(start, count);
            using var content = OctetStream(new StreamContent(body, CopyBufferSize));
            content.Headers.TryAddWithoutValidation("Content-Range", string.Create(CultureInfo.InvariantCulture, $"{start}-{start + count - 1}"));
            using var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = content };
            using var response = await _http.SendAsync(request);
            await ExpectAsync(response, HttpStatusCode.Accepted, "PATCH blob chunk");
            location = NextLocation(response, location);
        }

        using var close = new HttpRequestMessage(HttpMethod.Put, WithDigest(location, blob.Digest)) { Content = OctetStream(new ByteArrayContent([])) };
        using var closed = await _http.SendAsync(close);
        await ExpectAsync(closed, HttpStatusCode.Created, "PUT closing chunked upload");
    }

    public async Task UploadSmallAsync(string repo, byte[] data, string digest)
    {
        var location = await StartUploadAsync(repo);
        using var content = OctetStream(new ByteArrayContent(data));
        using var request = new HttpRequestMessage(HttpMethod.Put, WithDigest(location, digest)) { Content = content };
        using var response = await _http.SendAsync(request);
        await ExpectAsync(response, HttpStatusCode.Created, "PUT small blob");
    }

    public async Task PutManifestAsync(string repo, string reference, byte[] manifest, string mediaType)
    {
        using var content = new ByteArrayContent(manifest);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        using var request = new HttpRequestMessage(HttpMethod.Put, Url($"v2/{repo}/manifests/{reference}")) { Content = content };
        using var response = await _http.SendAsync(request);
        await ExpectAsync(response, HttpStatusCode.Created, $"PUT manifest {reference}");
    }

    public async Task<byte[]> GetManifestAsync(string repo, string reference, string accept)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, Url($"v2/{repo}/manifests/{reference}"));
        request.Headers.TryAddWithoutValidation("Accept", accept);
        using var response = await _http.SendAsync(request);
        await ExpectAsync(response, HttpStatusCode.OK, $"GET manifest {reference}");
        return await response.Content.ReadAsByteArrayAsync();
    }

    /// <summary>HEAD a blob: the status code (200 when the registry still has it, 404 when it does not).</summary>
    public async Task<HttpStatusCode> HeadBlobAsync(string repo, string digest)
    {
        using var request = new HttpRequestMessage(HttpMethod.Head, Url($"v2/{repo}/blobs/{digest}"));
        using var response = await _http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>Returns the number of tags in one tags/list response (no pagination requested).</summary>
    public async Task<int> CountTagsAsync(string repo)
    {
        using var response = await _http.GetAsync(Url($"v2/{repo}/tags/list"));
        await ExpectAsync(response, HttpStatusCode.OK, "GET tags/list");
        await using var stream = await response.Content.ReadAsStreamAsync();
        using var document = await JsonDocument.ParseAsync(stream);
        return document.RootElement.TryGetProperty("tags", out var tags) && tags.ValueKind == JsonValueKind.Array
            ? tags.GetArrayLength()
            : 0;
    }

    /// <summary>GETs a URL and reads the whole body into a reused buffer; optionally hashes it (only outside timed runs).</summary>
    public static async Task<long> DrainAsync(HttpClient http, Uri url, IncrementalHash? hash = null)
    {
        using var response = await http.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        await ExpectAsync(response, HttpStatusCode.OK, $"GET {url.AbsolutePath}");
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[CopyBufferSize];
        long total = 0;
        int read;
        while ((read = await stream.ReadAsync(buffer)) > 0)
        {
            hash?.AppendData(buffer, 0, read);
            total += read;
        }

        return total;
    }

    public void Dispose() => _http.Dispose();

    private static HttpClient CreateHttpClient(HttpMessageHandler handler) => new(handler)
    {
        Timeout = TimeSpan.FromMinutes(10),
    };

    private static SocketsHttpHandler CreateSocketsHandler() => new()
    {
        UseProxy = false,
        AutomaticDecompression = DecompressionMethods.None,
        MaxConnectionsPerServer = 256,
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    };

    private async Task<Uri> StartUploadAsync(string repo)
    {
        using var content = new ByteArrayContent([]);
        using var response = await _http.PostAsync(Url($"v2/{repo}/blobs/uploads/"), content);
        await ExpectAsync(response, HttpStatusCode.Accepted, "POST blob upload");
        return NextLocation(response, null);
    }

    private Uri NextLocation(HttpResponseMessage response, Uri? current)
    {
        var location = response.Headers.Location;
        if (location is null)
        {
            return current ?? throw new BenchException($"{response.RequestMessage?.Method} returned no Location header");
        }

        return location.IsAbsoluteUri ? location : new Uri(_base, location);
    }

    private static Uri WithDigest(Uri location, string digest)
    {
        var separator = string.IsNullOrEmpty(location.Query) ? "?" : "&";
        return new Uri(location.AbsoluteUri + separator + "digest=" + Uri.EscapeDataString(digest));
    }

    private static HttpContent OctetStream(HttpContent content)
    {
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        return content;
    }

    private static async Task ExpectAsync(HttpResponseMessage response, HttpStatusCode expected, string what)
    {
        if (response.StatusCode == expected)
        {
            return;
        }

        var body = await response.Content.ReadAsStringAsync();
        if (body.Length > 300)
        {
            body = body[..300] + "…";
        }

        throw new BenchException($"{what}: expected {(int)expected}, got {(int)response.StatusCode} {body.Trim()}");
    }
}
