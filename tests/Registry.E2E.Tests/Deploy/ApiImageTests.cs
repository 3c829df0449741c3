using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.E2E.Tests.Deploy;

/// <summary>
/// The registry's container image (deploy/api/Dockerfile), built and run: an unprivileged user, an owner-only data
/// directory in its volume, docker push and pull through it, and the health check that needs no curl.
/// </summary>
public sealed class ApiImageTests(ApiImageFixture image) : IClassFixture<ApiImageFixture>, IDisposable
{
    private readonly TemporaryDirectory _directory = new("e2e-api-image");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task The_server_runs_as_the_unprivileged_user_and_keeps_its_data_owner_only()
    {
        var user = await image.ExecAsync("id", "-u");
        var data = await image.ExecAsync("stat", "-c", "%u %a", "/var/lib/registry", "/var/lib/registry/registry.db", "/var/lib/registry/secrets.key");

        Assert.Equal("1654", user.StandardOutput.Trim());
        Assert.Equal(["1654 700", "1654 600", "1654 600"], data.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        var config = await image.Docker.InspectImageAsync(image.Image, "{{.Config.User}} {{json .Config.Volumes}} {{json .Config.ExposedPorts}}");
        Assert.Equal("1654:1654 {\"/var/lib/registry\":{}} {\"5000/tcp\":{}}", config.Trim());
    }

    [Fact]
    public async Task Docker_pushes_to_and_pulls_from_the_container()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var docker = image.Docker.WithConfigDirectory(_directory.Combine("docker-config"));
        (await docker.LoginAsync(image.HostPort, image.Admin, ct)).EnsureSuccess();
        var test = TestImages.Create(layerCount: 2);
        var archive = _directory.Combine("image.tar");
        var local = $"e2e-api-image/app:{test.Marker}";
        await test.WriteDockerArchiveAsync(archive, local, ct);
        var remote = $"{image.HostPort}/{TestNames.Repository("image")}:v1";
        try
        {
            await docker.LoadAsync(archive, ct);
            await docker.TagAsync(local, remote, ct);
            await docker.PushAsync(remote, ct);
            await docker.RemoveImageAsync(remote, force: true, ct);
            await docker.RemoveImageAsync(local, force: true, ct);

            await docker.PullAsync(remote, ct);

            Assert.Equal(test.Config.Digest, await docker.ImageIdAsync(remote, ct));
        }
        finally
        {
            await docker.RemoveImageAsync(remote, force: true, CancellationToken.None);
            await docker.RemoveImageAsync(local, force: true, CancellationToken.None);
        }
    }

    [Fact]
    public async Task The_health_check_is_the_servers_own_probe_which_runs_in_the_image()
    {
        var healthcheck = await image.Docker.InspectImageAsync(image.Image, "{{json .Config.Healthcheck.Test}}");
        var ok = await image.ExecAsync("dotnet", "/app/Registry.Api.dll", "probe", "--url", $"http://{image.HostPort}/");
        var refused = await image.ExecAsync("dotnet", "/app/Registry.Api.dll", "probe", "--url", $"http://{image.HostPort}/v2/");

        Assert.Equal(
            "[\"CMD\",\"dotnet\",\"/app/Registry.Api.dll\",\"probe\",\"--url\",\"http://127.0.0.1:5000/healthz\"]",
            healthcheck.Trim());
        Assert.True(ok.Succeeded, ok.ToString());
        Assert.Equal(1, refused.ExitCode);
        // No curl or wget to fall back on: the probe is the only way the image checks itself.
        Assert.NotEqual(0, (await image.ExecAsync("sh", "-c", "command -v curl || command -v wget")).ExitCode);
    }
}
