using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>
/// A blob whose file disappeared behind the registry's back (a crash before it reached the disk, a restored backup,
/// a hand-made delete): the registry stops saying it has it, so clients upload it again.
/// </summary>
public sealed class LostBlobTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private readonly HttpClient _client = registry.CreateRegistryClient();

    [Fact]
    public async Task GetOfALostBlobIsBlobUnknownAndHeadAndMountAgreeAfterwards()
    {
        var (repository, blob) = await PushedAndLostAsync();

        using var get = await _client.GetAsync($"/v2/{repository}/blobs/{blob.Digest}");
        using var head = await _client.SendAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{blob.Digest}");
        var target = Names.Unique("lost");
        using var mount = await _client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={blob.Digest}&from={repository}");

        await AssertErrorAsync(get, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, mount.StatusCode);
        Assert.StartsWith($"/v2/{target}/blobs/uploads/", Location(mount), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HeadOfALostBlobIs404SoADockerPushUploadsItAgain()
    {
        var (repository, blob) = await PushedAndLostAsync();

        using var head = await _client.SendAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{blob.Digest}");
        await _client.PushBlobAsync(repository, blob);
        using var get = await _client.GetAsync($"/v2/{repository}/blobs/{blob.Digest}");

        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(blob.Content, await get.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task AnImageWithALostLayerPullsAgainAfterItIsPushedAgain()
    {
        var repository = Names.Unique("lost");
        var config = TestBlob.Config();
        var layer = TestBlob.Random(4096);
        await _client.PushBlobsAsync(repository, config, layer);
        var manifest = Manifests.OciImage(config, layer);
        await _client.PushManifestAsync(repository, "v1", manifest);
        File.Delete(BlobFile(layer));

        using var lost = await _client.SendAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{layer.Digest}");
        await _client.PushBlobAsync(repository, layer);
        await _client.PushManifestAsync(repository, "v1", manifest);
        using var pulled = await _client.GetAsync($"/v2/{repository}/blobs/{layer.Digest}");

        Assert.Equal(HttpStatusCode.NotFound, lost.StatusCode);
        Assert.Equal(layer.Content, await pulled.Content.ReadAsByteArrayAsync());
    }

    private async Task<(string Repository, TestBlob Blob)> PushedAndLostAsync()
    {
        var repository = Names.Unique("lost");
        var blob = TestBlob.Random(1000);
        await _client.PushBlobAsync(repository, blob);
        File.Delete(BlobFile(blob));
        return (repository, blob);
    }

    private string BlobFile(TestBlob blob)
    {
        var hex = blob.Digest["sha256:".Length..];
        var path = Path.Combine(registry.DataDirectory, "blobs", "sha256", hex[..2], hex);
        Assert.True(File.Exists(path), $"the blob is stored at {path}");
        return path;
    }
}
