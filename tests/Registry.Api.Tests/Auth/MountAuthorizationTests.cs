using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// A cross-repository mount reads the source: a caller who may not pull it must not get the blob
/// by guessing its digest. The mount falls back to an ordinary upload session instead.
/// </summary>
public sealed class MountAuthorizationTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    [Fact]
    public async Task MountFromARepositoryTheCallerCannotReadStartsAnUploadInstead()
    {
        var (bob, alice, blob) = await BobsBlobAsync();
        using var client = registry.CreateClientFor(alice.Name, alice.Password);
        var target = $"{alice.Name}/y";

        using var mount = await client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={blob.Digest}&from={Source(bob)}");
        using var get = await client.GetAsync($"/v2/{target}/blobs/{blob.Digest}");

        Assert.Equal(HttpStatusCode.Accepted, mount.StatusCode);
        Assert.StartsWith($"/v2/{target}/blobs/uploads/", Location(mount), StringComparison.Ordinal);
        await AssertErrorAsync(get, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Fact]
    public async Task MountChallengeAsksForTheTargetAndTheSource()
    {
        var (bob, alice, blob) = await BobsBlobAsync();
        using var plain = registry.CreatePlainClient();

        using var response = await plain.SendAsync(HttpMethod.Post, $"/v2/{alice.Name}/y/blobs/uploads/?mount={blob.Digest}&from={Source(bob)}");

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        var scopes = response.BearerChallenge()?.Scopes ?? [];
        Assert.Contains($"repository:{alice.Name}/y:pull,push", scopes);
        Assert.Contains($"repository:{Source(bob)}:pull", scopes);
    }

    [Fact]
    public async Task MountFromARepositoryTheCallerCanReadMountsTheBlob()
    {
        var (bob, alice, blob) = await BobsBlobAsync();
        await registry.SetVisibilityAsync(bob, Source(bob), "public");
        using var client = registry.CreateClientFor(alice.Name, alice.Password);
        var target = $"{alice.Name}/y";

        using var mount = await client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={blob.Digest}&from={Source(bob)}");
        using var get = await client.GetAsync($"/v2/{target}/blobs/{blob.Digest}");

        Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
        Assert.Equal(blob.Content, await get.Content.ReadAsByteArrayAsync());
    }

    private static string Source(TestUser bob) => $"{bob.Name}/x";

    /// <summary>Bob pushes an image to bob/x (private); alice, with her own namespace, knows the digest of its layer.</summary>
    private async Task<(TestUser Bob, TestUser Alice, TestBlob Layer)> BobsBlobAsync()
    {
        var bob = await registry.NewUserAsync();
        var alice = await registry.NewUserAsync();
        var config = TestBlob.Config();
        var layer = TestBlob.Random(300);
        using var client = registry.CreateClientFor(bob.Name, bob.Password);
        await client.PushBlobsAsync(Source(bob), config, layer);
        await client.PushManifestAsync(Source(bob), "v1", Manifests.OciImage(config, layer));
        return (bob, alice, layer);
    }
}
