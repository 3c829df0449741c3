using System.Net;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.E2E.Tests;

/// <summary>skopeo copies between the reference registry and the registry under test, digests unchanged.</summary>
public sealed class SkopeoCopyTests(TwoRegistriesFixture fixture) : IClassFixture<TwoRegistriesFixture>, IDisposable
{
    private static readonly string[] PreserveDigests = ["--preserve-digests"];
    private static readonly string[] AllAndPreserveDigests = ["--all", "--preserve-digests"];

    private readonly TemporaryDirectory _directory = new("e2e-skopeo");

    public void Dispose() => _directory.Dispose();

    // Logged in to ours as admin through an auth file of this test's own; the reference registry asks for no login.
    private SkopeoCli LoggedInSkopeo()
        => SkopeoCli.WithAuthFile(RegistryUnderTest.WriteAdminAuthFile(fixture.Registry, _directory.Combine("auth.json")));

    [Fact]
    public async Task Copy_from_the_reference_registry_into_ours_and_back_preserves_the_digest()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var skopeo = LoggedInSkopeo();
        var image = TestImages.Create(layerCount: 3);
        var repository = TestNames.Repository("copy");
        var layout = _directory.Combine("layout");
        await image.WriteOciLayoutAsync(layout, "v1", ct);
        var atReference = $"docker://{fixture.Reference.HostPort}/{repository}:v1";
        var atOurs = $"docker://{fixture.Registry.HostPort}/{repository}:v1";
        var backAtReference = $"docker://{fixture.Reference.HostPort}/{repository}-back:v1";

        await skopeo.CopyAsync($"oci:{layout}:v1", atReference, PreserveDigests, ct);
        await skopeo.CopyAsync(atReference, atOurs, PreserveDigests, ct);
        await skopeo.CopyAsync(atOurs, backAtReference, PreserveDigests, ct);

        var expected = image.OciManifest.Digest;
        Assert.Equal(expected, await skopeo.RawDigestAsync(atOurs, ct));
        Assert.Equal(expected, await skopeo.InspectAsync(atOurs, "{{.Digest}}", cancellationToken: ct));
        Assert.Equal(expected, await skopeo.RawDigestAsync(backAtReference, ct));
        await AssertBlobsServedAsync(repository, image, ct);
    }

    [Fact]
    public async Task Copy_all_of_a_multi_platform_index_copies_every_platform()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var skopeo = LoggedInSkopeo();
        var index = TestImages.CreateMultiPlatform();
        var repository = TestNames.Repository("multi");
        var layout = _directory.Combine("layout");
        await index.WriteOciLayoutAsync(layout, "v1", ct);
        var atReference = $"docker://{fixture.Reference.HostPort}/{repository}:v1";
        var atOurs = $"docker://{fixture.Registry.HostPort}/{repository}:v1";

        await skopeo.CopyAsync($"oci:{layout}:v1", atReference, AllAndPreserveDigests, ct);
        await skopeo.CopyAsync(atReference, atOurs, AllAndPreserveDigests, ct);

        Assert.Equal(index.Index.Digest, await skopeo.RawDigestAsync(atOurs, ct));
        foreach (var image in index.Images)
        {
            var child = $"docker://{fixture.Registry.HostPort}/{repository}@{image.OciManifest.Digest}";
            Assert.Equal(image.OciManifest.Digest, await skopeo.RawDigestAsync(child, ct));
            // Resolving the tag for a platform goes through the index to that platform's config.
            var architecture = await skopeo.InspectAsync(
                atOurs, "{{.Architecture}}", ["--override-os", "linux", "--override-arch", image.Architecture], ct);
            Assert.Equal(image.Architecture, architecture);
            await AssertBlobsServedAsync(repository, image, ct);
        }
    }

    /// <summary>Every blob of the image is served from the repository with its size.</summary>
    private async Task AssertBlobsServedAsync(string repository, TestImage image, CancellationToken ct)
    {
        using var http = RegistryAuthHandler.CreateClient(fixture.Registry, timeout: TimeSpan.FromMinutes(1));
        foreach (var blob in image.Blobs)
        {
            using var head = new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/blobs/{blob.Digest}");
            using var response = await http.SendAsync(head, ct);
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"HEAD {repository} blob {blob.Digest}: {(int)response.StatusCode}");
            Assert.Equal(blob.Size, response.Content.Headers.ContentLength);
        }
    }
}
