using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.Api.Tests.Deploy;

/// <summary>
/// The registry started with exactly the variables docker-compose.yml and the Kubernetes manifests give it, with only
/// the addresses and credentials of PostgreSQL and the bucket swapped for the test servers' (a real PostgreSQL, s3rver):
/// it must start (every value passes validation) and take a docker push into that database and bucket.
/// </summary>
public sealed partial class DeploymentEnvironmentTests : IDisposable
{
    private readonly TemporaryDirectory _directory = new("deploy-environment");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task The_compose_files_settings_run_the_registry_on_postgresql_and_s3()
    {
        var environment = DeployFiles.LoadSingle("docker-compose.yml").Map("services").Map("registry").Map("environment");
        var settings = environment.Keys.ToDictionary(k => k, k => (string?)WithDefaults(environment.String(k)), StringComparer.Ordinal);

        await PushThroughAsync(settings);
    }

    [Fact]
    public async Task The_kubernetes_deployments_settings_run_the_registry_on_postgresql_and_s3()
    {
        var secret = KubernetesManifestTests.Object("Secret").Map("stringData");
        var container = Assert.Single(KubernetesManifestTests.Object("Deployment").Map("spec").Map("template").Map("spec").Maps("containers"));
        var settings = container.Maps("env").ToDictionary(e => e.String("name"), e => (string?)e.String("value"), StringComparer.Ordinal);
        foreach (var key in secret.Keys)
        {
            settings.Add(key, secret.String(key));
        }

        // The Secret's placeholders, replaced as its comments ask.
        Replace(settings, "Registry__Secrets__Key", Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        Replace(settings, "REGISTRY_ADMIN_PASSWORD", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        await PushThroughAsync(settings);
    }

    private async Task PushThroughAsync(Dictionary<string, string?> settings)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var ct = timeout.Token;
        var postgres = await PostgresServer.GetAsync();
        var s3 = await S3Server.GetAsync();
        var bucket = S3Server.NewBucketName();
        var port = FreePort.Get();
        Assert.Equal("Postgres", settings["Registry__Database__Provider"]);
        Assert.Equal("S3", settings["Registry__Storage__Provider"]);
        Replace(settings, "Registry__Database__ConnectionString", await postgres.CreateDatabaseAsync(ct));
        Replace(settings, "Registry__Storage__S3__Endpoint", s3.Endpoint.ToString());
        Replace(settings, "Registry__Storage__S3__Bucket", bucket);
        Replace(settings, "Registry__Storage__S3__AccessKey", S3Server.AccessKey);
        Replace(settings, "Registry__Storage__S3__SecretKey", S3Server.SecretKey);
        // Where the test reaches the registry (challenges and Locations are built from it).
        Replace(settings, "Registry__PublicUrl", $"http://127.0.0.1:{port}");

        await using var registry = await RegistryProcess.StartAsync(port: port, environment: settings, cancellationToken: ct);
        var docker = DockerCli.Default.WithConfigDirectory(_directory.Combine("docker-config"));
        (await docker.LoginAsync(registry.HostPort, registry.Admin, ct)).EnsureSuccess();
        var image = TestImages.Create(layerCount: 2);
        var archive = _directory.Combine("image.tar");
        var local = $"deploy-environment/app:{image.Marker}";
        var remote = $"{registry.HostPort}/ops/app:1";
        await image.WriteDockerArchiveAsync(archive, local, ct);
        try
        {
            await docker.LoadAsync(archive, ct);
            await docker.TagAsync(local, remote, ct);

            await docker.PushAsync(remote, ct);

            // The layers are in the bucket (s3rver keeps each object as a file under the bucket's directory).
            var stored = Directory.EnumerateFiles(Path.Combine(s3.DataDirectory, bucket), "*", SearchOption.AllDirectories).ToList();
            Assert.NotEmpty(stored);
            Assert.Empty(Directory.EnumerateFiles(registry.DataDirectory, "*.db")); // no SQLite beside PostgreSQL
        }
        finally
        {
            await docker.RemoveImageAsync(remote, force: true, CancellationToken.None);
            await docker.RemoveImageAsync(local, force: true, CancellationToken.None);
        }
    }

    /// <summary>Sets a key the deployment file sets, and fails if it does not: only real keys are swapped.</summary>
    private static void Replace(Dictionary<string, string?> settings, string key, string value)
    {
        Assert.True(settings.ContainsKey(key), $"the deployment file does not set {key}");
        settings[key] = value;
    }

    /// <summary>docker-compose's <c>${NAME:-default}</c>, as it reads with nothing in the environment or .env.</summary>
    private static string WithDefaults(string value) =>
        Substitution().Replace(value, m => m.Groups["default"].Value).Replace("$$", "$", StringComparison.Ordinal);

    [GeneratedRegex(@"\$\{(?<name>[A-Z_][A-Z0-9_]*)(?::-(?<default>[^}]*))?\}")]
    private static partial Regex Substitution();
}
