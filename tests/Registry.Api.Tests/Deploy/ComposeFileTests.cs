using Registry.Testing;

namespace Registry.Api.Tests.Deploy;

/// <summary>
/// docker-compose.yml at the repository root: docker-compose 1.29 itself validates it (its images cannot be pulled
/// here, so it is never started), and it holds the services, health checks and start order README describes.
/// </summary>
public sealed class ComposeFileTests : IDisposable
{
    private const string ComposeFile = "docker-compose.yml";

    private readonly TemporaryDirectory _directory = new("compose-file");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Docker_compose_accepts_the_file()
    {
        var result = await ComposeConfigAsync(DeployFiles.PathOf(ComposeFile));

        Assert.True(result.Succeeded, result.ToString());
    }

    [Fact]
    public async Task Docker_compose_refuses_a_start_condition_it_does_not_know()
    {
        // The validation above is a real one: the same file with one wrong condition is refused.
        var broken = _directory.Combine("docker-compose.yml");
        await File.WriteAllTextAsync(
            broken, DeployFiles.Read(ComposeFile).Replace("condition: service_healthy", "condition: service_ready", StringComparison.Ordinal));

        var result = await ComposeConfigAsync(broken);

        Assert.False(result.Succeeded, result.ToString());
        Assert.Contains("service_ready", result.CombinedOutput, StringComparison.Ordinal);
    }

    [Fact]
    public void The_registry_waits_for_a_healthy_database_and_a_created_bucket()
    {
        var services = DeployFiles.LoadSingle(ComposeFile).Map("services");
        var registry = services.Map("registry");

        Assert.Equal("deploy/api/Dockerfile", registry.Map("build").String("dockerfile"));
        var dependsOn = registry.Map("depends_on");
        Assert.Equal("service_healthy", dependsOn.Map("postgres").String("condition"));
        Assert.Equal("service_completed_successfully", dependsOn.Map("minio-bucket").String("condition"));
        Assert.Equal("service_healthy", services.Map("minio-bucket").Map("depends_on").Map("minio").String("condition"));
        Assert.Contains("mc mb --ignore-existing local/registry", string.Join(' ', services.Map("minio-bucket").Strings("command")), StringComparison.Ordinal);

        var environment = registry.Map("environment");
        Assert.Equal("Postgres", environment.String("Registry__Database__Provider"));
        Assert.Equal("S3", environment.String("Registry__Storage__Provider"));
        Assert.Equal("http://minio:9000", environment.String("Registry__Storage__S3__Endpoint"));
        Assert.Equal("registry", environment.String("Registry__Storage__S3__Bucket"));
        Assert.StartsWith("Host=postgres;", environment.String("Registry__Database__ConnectionString"), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_long_running_service_has_a_health_check_and_keeps_its_data_in_a_named_volume()
    {
        var compose = DeployFiles.LoadSingle(ComposeFile);
        var services = compose.Map("services");
        var volumes = compose.Map("volumes").Keys.ToHashSet(StringComparer.Ordinal);

        foreach (var (name, dataPath) in new[]
                 {
                     ("postgres", "/var/lib/postgresql/data"), ("minio", "/data"), ("registry", "/var/lib/registry"),
                 })
        {
            var service = services.Map(name);
            Assert.NotEmpty(service.Map("healthcheck").Strings("test"));
            var mount = Assert.Single(service.Strings("volumes"), v => v.EndsWith(":" + dataPath, StringComparison.Ordinal));
            Assert.Contains(mount.Split(':')[0], volumes);
        }

        // The registry's health check is the image's own probe, of readiness (database and bucket answer).
        Assert.Equal(
            ["CMD", "dotnet", "/app/Registry.Api.dll", "probe", "--url", "http://127.0.0.1:5000/readyz"],
            services.Map("registry").Map("healthcheck").Strings("test"));
    }

    [Fact]
    public void The_node_agent_is_privileged_with_its_state_on_a_volume_and_starts_only_in_its_profile()
    {
        var node = DeployFiles.LoadSingle(ComposeFile).Map("services").Map("node");

        Assert.Equal("deploy/node/Dockerfile", node.Map("build").String("dockerfile"));
        Assert.Equal("true", node.String("privileged"));
        Assert.Contains("node-data:/var/lib/registry-node", node.Strings("volumes"));
        Assert.Equal(["node"], node.Strings("profiles"));
        Assert.Equal(["agent"], node.Strings("command"));
    }

    /// <summary><c>docker-compose -f FILE config -q</c>, run from the repository root (the build contexts are relative).</summary>
    private static Task<ProcessResult> ComposeConfigAsync(string file) =>
        ProcessRunner.RunAsync("docker-compose", ["-f", file, "config", "-q"], TimeSpan.FromMinutes(1), workingDirectory: DeployFiles.Root);
}
