using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>State that must survive the registry being stopped and started on the same data directory.</summary>
public sealed class RestartTests : IDisposable
{
    private readonly string _dataDirectory = RegistryFactory.NewDataDirectory();
    private readonly string _adminPassword = RegistryFactory.NewAdminPassword();

    [Fact]
    public async Task ChunkedUploadResumesAfterRestart()
    {
        var repository = Names.Unique("restart");
        var blob = TestBlob.Random(300_000);
        string location;
        await using (var before = RegistryFactory.OnExistingDirectory(_dataDirectory, _adminPassword))
        {
            using var client = before.CreateRegistryClient();
            location = await client.StartUploadAsync(repository);
            using var first = await client.PatchChunkAsync(location, blob.Content[..100_000], start: 0);
            Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        }

        await using var after = RegistryFactory.OnExistingDirectory(_dataDirectory, _adminPassword);
        using var resumed = after.CreateRegistryClient();
        using var status = await resumed.GetAsync(location);
        using var second = await resumed.PatchChunkAsync(location, blob.Content[100_000..], start: 100_000);
        using var put = await resumed.SendAsync(HttpMethod.Put, WithDigest(location, blob.Digest));
        using var get = await resumed.GetAsync($"/v2/{repository}/blobs/{blob.Digest}");

        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal("0-99999", Header(status, "Range"));
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(blob.Content, await get.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task PushedImageIsServedAfterRestart()
    {
        var repository = Names.Unique("restart");
        TestManifest manifest;
        await using (var before = RegistryFactory.OnExistingDirectory(_dataDirectory, _adminPassword))
        {
            using var client = before.CreateRegistryClient();
            manifest = await client.PushImageAsync(repository, "v1");
        }

        await using var after = RegistryFactory.OnExistingDirectory(_dataDirectory, _adminPassword);
        using var restarted = after.CreateRegistryClient();
        using var response = await restarted.GetAsync($"/v2/{repository}/manifests/v1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(manifest.Content, await response.Content.ReadAsByteArrayAsync());
    }

    public void Dispose() => RegistryFactory.DeleteDirectory(_dataDirectory);
}
