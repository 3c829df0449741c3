using System.Net;
using System.Net.Http.Headers;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Client;

/// <summary>
/// Pushes test images into a registry through the distribution API itself (upload session, PUT
/// with digest, manifest PUT), as a client would; logged in as the registry's admin (or the
/// given user), answering Basic and Bearer challenges.
/// </summary>
internal sealed class DistributionPush : IDisposable
{
    private readonly HttpClient _http;

    public DistributionPush(IRegistryServer server, RegistryCredentials? credentials = null)
    {
        _http = RegistryAuthHandler.CreateClient(server, credentials, TimeSpan.FromSeconds(60));
    }

    /// <summary>Pushes the image's blobs and its OCI (or Docker) manifest under <paramref name="tag"/>; returns the manifest's digest.</summary>
    public async Task<string> PushImageAsync(string repository, string tag, TestImage image, bool dockerManifest = false)
    {
        foreach (var blob in image.Blobs)
        {
            await PushBlobAsync(repository, blob);
        }

        var manifest = dockerManifest ? image.DockerManifest : image.OciManifest;
        await PushManifestAsync(repository, tag, manifest);
        return manifest.Digest;
    }

    /// <summary>Pushes every platform's image by digest, then the index under <paramref name="tag"/>.</summary>
    public async Task<string> PushIndexAsync(string repository, string tag, TestImageIndex index)
    {
        foreach (var image in index.Images)
        {
            await PushImageAsync(repository, image.OciManifest.Digest, image);
        }

        await PushManifestAsync(repository, tag, index.Index);
        return index.Index.Digest;
    }

    public async Task PushBlobAsync(string repository, Blob blob)
    {
        using var start = await _http.PostAsync(new Uri($"v2/{repository}/blobs/uploads/", UriKind.Relative), content: null);
        Assert.True(start.StatusCode == HttpStatusCode.Accepted, $"upload start answered {(int)start.StatusCode}: {await start.Content.ReadAsStringAsync()}");
        var location = start.Headers.Location ?? throw new InvalidOperationException("upload start without Location");
        var uri = location.IsAbsoluteUri ? location : new Uri(_http.BaseAddress!, location);
        var separator = uri.Query.Length > 0 ? "&" : "?";
        using var body = new ByteArrayContent(blob.Content);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var put = await _http.PutAsync(new Uri($"{uri}{separator}digest={Uri.EscapeDataString(blob.Digest)}"), body);
        Assert.True(put.StatusCode == HttpStatusCode.Created, $"blob PUT answered {(int)put.StatusCode}: {await put.Content.ReadAsStringAsync()}");
    }

    public async Task PushManifestAsync(string repository, string reference, Blob manifest)
    {
        using var body = new ByteArrayContent(manifest.Content);
        body.Headers.ContentType = new MediaTypeHeaderValue(manifest.MediaType);
        using var put = await _http.PutAsync(new Uri($"v2/{repository}/manifests/{reference}", UriKind.Relative), body);
        Assert.True(put.StatusCode == HttpStatusCode.Created, $"manifest PUT answered {(int)put.StatusCode}: {await put.Content.ReadAsStringAsync()}");
    }

    public void Dispose() => _http.Dispose();
}
