using System.Security.Cryptography;
using Registry.Testing;

namespace Registry.E2E.Tests.Deploy;

/// <summary>
/// deploy/api/Dockerfile built for real, without network (<c>docker build --network none</c>), from stand-ins of the
/// official base images that tests/images/dotnet/build-base-images.sh makes out of this machine's .NET and the
/// debootstrapped Debian image (the official ones cannot be pulled here), then run on the host network on a free port
/// of 127.0.0.1. The container carries test.sh's run label, so an interrupted run's container is removed too.
/// </summary>
public sealed class ApiImageFixture : IAsyncLifetime
{
    public const string DebianImage = "registry-test/debian:bookworm";
    public const string SdkImage = "registry-test/dotnet-sdk:10.0";
    public const string RuntimeImage = "registry-test/aspnet:10.0";

    private static readonly string[] ImageProjects = ["Registry.Core", "Registry.Storage", "Registry.Api"];

    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(10);

    private readonly string _tag = $"registry-test/registry-api:{Guid.NewGuid():N}";
    private string? _container;

    public DockerCli Docker { get; } = DockerCli.Default;

    public int Port { get; } = FreePort.Get();

    public string HostPort => $"127.0.0.1:{Port}";

    public RegistryCredentials Admin { get; } = new("admin", Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));

    public string Container => _container ?? throw new InvalidOperationException("The container did not start.");

    public string Image => _tag;

    public async Task InitializeAsync()
    {
        await Docker.EnsureAvailableAsync();
        if (!await Docker.ImageExistsAsync(DebianImage))
        {
            throw new InvalidOperationException($"{DebianImage} is missing: test.sh builds it (debootstrap + docker import).");
        }

        var root = RepositoryRoot.Path;
        // The packages these projects restore are what the build inside the image may restore.
        var assets = ImageProjects.Select(p => Path.Combine(root, "src", p, "obj", "project.assets.json"));
        (await ProcessRunner.RunAsync(
            Path.Combine(root, "tests", "images", "dotnet", "build-base-images.sh"),
            [DebianImage, SdkImage, RuntimeImage, .. assets],
            BuildTimeout)).EnsureSuccess();

        (await Docker.RunAsync(
            [
                "build", "--network", "none", "--file", Path.Combine(root, "deploy", "api", "Dockerfile"),
                "--build-arg", $"SDK_IMAGE={SdkImage}", "--build-arg", $"RUNTIME_IMAGE={RuntimeImage}",
                "--tag", _tag, root,
            ],
            BuildTimeout)).EnsureSuccess();

        var run = await Docker.RunCheckedAsync(
            [
                "run", "--detach", "--network", "host",
                "--label", $"{PostgresServer.RunLabel}={Environment.GetEnvironmentVariable(PostgresServer.RunVariable) ?? ""}",
                "--env", $"Urls=http://127.0.0.1:{Port}",
                "--env", $"REGISTRY_ADMIN_PASSWORD={Admin.Password}",
                _tag,
            ]);
        _container = run.StandardOutput.Trim();
        await WaitUntilServingAsync();
    }

    /// <summary>Until <c>GET /v2/</c> answers with the registry's own header, for at most a minute.</summary>
    private async Task WaitUntilServingAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var last = "no answer";
        for (var deadline = DateTime.UtcNow.AddMinutes(1); DateTime.UtcNow < deadline; await Task.Delay(200))
        {
            try
            {
                using var response = await http.GetAsync(new Uri($"http://{HostPort}/v2/"));
                if (response.Headers.Contains("Docker-Distribution-API-Version"))
                {
                    return;
                }

                last = $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                last = e.Message;
            }
        }

        var logs = await Docker.RunAsync(["logs", Container]);
        throw new TimeoutException($"The registry container did not serve /v2/ within a minute (last: {last}).\n{logs.CombinedOutput}");
    }

    /// <summary><c>docker exec CONTAINER ARGS</c>; a non-zero exit code is returned.</summary>
    public Task<ProcessResult> ExecAsync(params string[] arguments) => Docker.RunAsync(["exec", Container, .. arguments]);

    public async Task DisposeAsync()
    {
        if (_container is not null)
        {
            var logs = await Docker.RunAsync(["logs", _container]);
            Console.WriteLine(logs.CombinedOutput);
            await Docker.RunAsync(["rm", "--force", "--volumes", _container]);
        }

        await Docker.RemoveImageAsync(_tag, force: true);
    }
}
