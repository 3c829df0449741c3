using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.E2E.Tests;

/// <summary>podman pulls from the registry under test.</summary>
public sealed class PodmanPullTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>, IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(3);

    private readonly TemporaryDirectory _directory = new("e2e-podman");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Podman_pulls_an_image_pushed_by_skopeo()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var image = TestImages.Create(layerCount: 3);
        var layout = _directory.Combine("layout");
        await image.WriteOciLayoutAsync(layout, "v1", ct);
        var reference = $"{fixture.Registry.HostPort}/{TestNames.Repository("podman")}:v1";
        // Logged in as admin through an auth file of this test's own, never the user's.
        var authFile = RegistryUnderTest.WriteAdminAuthFile(fixture.Registry, _directory.Combine("auth.json"));
        await SkopeoCli.WithAuthFile(authFile).CopyAsync($"oci:{layout}:v1", $"docker://{reference}", cancellationToken: ct);

        try
        {
            await PodmanAsync(["pull", "--tls-verify=false", "--authfile", authFile, reference], ct);
            var digest = await PodmanAsync(["image", "inspect", "--format", "{{.Digest}}", reference], ct);
            Assert.Equal(image.OciManifest.Digest, digest.StandardOutput.Trim());
            var id = await PodmanAsync(["image", "inspect", "--format", "{{.Id}}", reference], ct);
            Assert.Equal(image.Config.Hex, id.StandardOutput.Trim());
        }
        finally
        {
            await ProcessRunner.RunAsync("podman", ["rmi", "--force", reference], CommandTimeout, cancellationToken: CancellationToken.None);
        }
    }

    private static async Task<ProcessResult> PodmanAsync(IEnumerable<string> arguments, CancellationToken ct)
    {
        var result = await ProcessRunner.RunAsync("podman", arguments, CommandTimeout, cancellationToken: ct);
        return result.EnsureSuccess();
    }
}
