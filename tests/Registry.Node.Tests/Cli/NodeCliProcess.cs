using Registry.Testing;

namespace Registry.Node.Tests.Cli;

/// <summary>
/// Runs the built <c>registry-node</c> executable as a child process with its own <c>--root</c>
/// and a docker config directory of its own, so the host's state and credentials never leak in.
/// Given a registry, the config holds its admin's login, as <c>docker login</c> writes it.
/// </summary>
internal sealed class NodeCliProcess : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private readonly TemporaryDirectory _directory = new("node-cli");

    public NodeCliProcess(IRegistryServer? loggedInTo = null)
    {
        Directory.CreateDirectory(DockerConfig);
        if (loggedInTo?.Admin is { } admin)
        {
            LogIn(loggedInTo.HostPort, admin);
        }
    }

    public string Root => _directory.Combine("root");

    /// <summary>The <c>DOCKER_CONFIG</c> directory the command runs with.</summary>
    public string DockerConfig => _directory.Combine("docker");

    /// <summary>Writes <c>config.json</c> with these credentials for <paramref name="hostPort"/> (replacing any other login).</summary>
    public void LogIn(string hostPort, RegistryCredentials credentials)
        => credentials.WriteAuthFile(Path.Combine(DockerConfig, "config.json"), hostPort);

    /// <summary>The apphost next to the project's build output; building the test project builds it.</summary>
    public static string Executable
    {
        get
        {
            // The test assembly lives in bin/<Configuration>/net10.0: the CLI was built with the same configuration.
            var framework = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/'));
            var configuration = framework.Parent!.Name;
            var path = Path.Combine(RepositoryRoot.Path, "src", "Registry.Node", "bin", configuration, framework.Name, "registry-node");
            return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: build tests/Registry.Node.Tests first");
        }
    }

    /// <summary><c>registry-node --root ROOT ARGS…</c>; stdout is a pipe, so progress comes as plain lines.</summary>
    public Task<ProcessResult> RunAsync(params string[] arguments) =>
        ProcessRunner.RunAsync(
            Executable,
            ["--root", Root, .. arguments],
            Timeout,
            new Dictionary<string, string?> { ["DOCKER_CONFIG"] = DockerConfig, ["REGISTRY_NODE_ROOT"] = null });

    /// <summary><c>registry-node ARGS…</c> with the root given by <c>REGISTRY_NODE_ROOT</c> instead of <c>--root</c>.</summary>
    public Task<ProcessResult> RunWithRootFromEnvironmentAsync(params string[] arguments) =>
        ProcessRunner.RunAsync(
            Executable,
            arguments,
            Timeout,
            new Dictionary<string, string?> { ["DOCKER_CONFIG"] = DockerConfig, ["REGISTRY_NODE_ROOT"] = Root });

    public void Dispose() => _directory.Dispose();
}
