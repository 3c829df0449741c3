namespace Registry.Testing;

/// <summary>
/// containerd's <c>ctr</c> in a namespace of the caller's own. The daemon is the one that answers
/// first: the containerd package's (<c>/run/containerd/containerd.sock</c>) or the one dockerd runs
/// for itself (<c>/var/run/docker/containerd/containerd.sock</c>, there whenever the Docker engine
/// test.sh starts is up).
/// </summary>
public sealed class ContainerdCli
{
    public const string Executable = "ctr";

    private static readonly string[] Sockets = ["/run/containerd/containerd.sock", "/var/run/docker/containerd/containerd.sock"];
    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    private ContainerdCli(string address, string @namespace)
    {
        Address = address;
        Namespace = @namespace;
    }

    public string Address { get; }

    public string Namespace { get; }

    /// <summary>Finds a containerd that answers; throws with what was tried when none does (tests fail, never skip).</summary>
    public static async Task<ContainerdCli> ConnectAsync(string @namespace, CancellationToken cancellationToken = default)
    {
        var tried = new List<string>();
        foreach (var socket in Sockets.Where(File.Exists))
        {
            var version = await ProcessRunner.RunAsync(
                Executable, ["--address", socket, "version"], TimeSpan.FromSeconds(20), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (version.Succeeded)
            {
                return new ContainerdCli(socket, @namespace);
            }

            tried.Add(version.ToString());
        }

        throw new InvalidOperationException(
            $"No containerd answers at {string.Join(" or ", Sockets)} (test.sh starts dockerd, which runs one).\n"
            + string.Join('\n', tried));
    }

    /// <summary><c>ctr --address SOCKET --namespace NS ARGS</c>; a non-zero exit code is returned, not thrown.</summary>
    public Task<ProcessResult> RunAsync(IEnumerable<string> arguments, CancellationToken cancellationToken = default)
        => ProcessRunner.RunAsync(
            Executable, ["--address", Address, "--namespace", Namespace, .. arguments], Timeout, cancellationToken: cancellationToken);

    /// <summary><c>ctr images pull --plain-http [--user USER:PASSWORD] REF</c>, refusals returned.</summary>
    public Task<ProcessResult> PullAsync(string reference, RegistryCredentials? credentials, CancellationToken cancellationToken = default)
        => RunAsync(
            ["images", "pull", "--plain-http", .. credentials is null ? Array.Empty<string>() : ["--user", credentials.UserColonPassword], reference],
            cancellationToken);

    /// <summary>Removes every image of the namespace (their content and snapshots go with them), then the namespace.</summary>
    public async Task RemoveNamespaceAsync(CancellationToken cancellationToken = default)
    {
        var images = await RunAsync(["images", "list", "--quiet"], cancellationToken).ConfigureAwait(false);
        foreach (var image in images.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            await RunAsync(["images", "remove", "--sync", image], cancellationToken).ConfigureAwait(false);
        }

        await ProcessRunner.RunAsync(
            Executable, ["--address", Address, "namespaces", "remove", Namespace], Timeout, cancellationToken: cancellationToken).ConfigureAwait(false);
    }
}
