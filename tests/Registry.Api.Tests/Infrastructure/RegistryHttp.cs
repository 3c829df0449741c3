using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Registry.Api.Tests.Infrastructure;

/// <summary>The distribution API calls tests make, and the assertions most of them share.</summary>
internal static class RegistryHttp
{
    public static async Task<HttpResponseMessage> SendAsync(this HttpClient client, HttpMethod method, string url, byte[]? body = null, string? contentType = null, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, url);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType ?? "application/octet-stream");
        }

        configure?.Invoke(request);
        return await client.SendAsync(request);
    }

    /// <summary>Pushes a whole blob with POST ?digest= and checks it was created.</summary>
    public static async Task PushBlobAsync(this HttpClient client, string repository, TestBlob blob)
    {
        using var response = await client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={blob.Digest}", blob.Content);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    public static async Task PushBlobsAsync(this HttpClient client, string repository, params TestBlob[] blobs)
    {
        foreach (var blob in blobs)
        {
            await client.PushBlobAsync(repository, blob);
        }
    }

    public static Task<HttpResponseMessage> PutManifestAsync(this HttpClient client, string repository, string reference, TestManifest manifest, string? contentType = null) =>
        client.SendAsync(HttpMethod.Put, $"/v2/{repository}/manifests/{reference}", manifest.Content, contentType ?? manifest.MediaType);

    /// <summary>Pushes a manifest under a tag or its digest and checks it was created.</summary>
    public static async Task PushManifestAsync(this HttpClient client, string repository, string reference, TestManifest manifest)
    {
        using var response = await client.PutManifestAsync(repository, reference, manifest);
        Assert.True(response.StatusCode == HttpStatusCode.Created, $"manifest push answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Pushes an image's config, layers and manifest under a tag.</summary>
    public static async Task<TestManifest> PushImageAsync(this HttpClient client, string repository, string tag)
    {
        var config = TestBlob.Config();
        var layer = TestBlob.Random(64);
        await client.PushBlobsAsync(repository, config, layer);
        var manifest = Manifests.OciImage(config, layer);
        await client.PushManifestAsync(repository, tag, manifest);
        return manifest;
    }

    /// <summary>Starts an upload session and returns its Location.</summary>
    public static async Task<string> StartUploadAsync(this HttpClient client, string repository)
    {
        using var response = await client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return Location(response);
    }

    public static Task<HttpResponseMessage> PatchChunkAsync(this HttpClient client, string location, byte[] chunk, long? start)
    {
        return client.SendAsync(HttpMethod.Patch, location, chunk, configure: request =>
        {
            if (start is { } from)
            {
                request.Content!.Headers.TryAddWithoutValidation("Content-Range", $"{from}-{from + chunk.Length - 1}");
            }
        });
    }

    /// <summary>The upload URL with the digest query added (Location may already carry a query).</summary>
    public static string WithDigest(string location, string digest) =>
        location + (location.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "digest=" + digest;

    public static string Location(HttpResponseMessage response) =>
        response.Headers.Location?.OriginalString ?? throw new Xunit.Sdk.XunitException("response has no Location header");

    public static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values)
            ? string.Join(",", values)
            : null;

    /// <summary>Checks the status and that the body is the spec's error format with the expected code.</summary>
    public static async Task AssertErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        var first = json.RootElement.GetProperty("errors")[0];
        Assert.Equal(code, first.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(first.GetProperty("message").GetString()));
    }

    public static async Task<JsonDocument> ReadJsonAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync());
    }

    public static async Task<HttpStatusCode> StatusAsync(this HttpClient client, HttpMethod method, string url)
    {
        using var response = await client.SendAsync(method, url);
        return response.StatusCode;
    }
}
