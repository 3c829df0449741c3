using System.Text.Json;

namespace Registry.Testing;

/// <summary>
/// The <c>docker</c> command line against the machine's Docker engine. Every call has a
/// timeout; commands that must succeed throw <see cref="ProcessFailedException"/> with the output.
/// </summary>
public sealed class DockerCli
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(3);

    /// <summary>The client with the user's own configuration: for commands that need no login.</summary>
    public static DockerCli Default { get; } = new();

    public string Executable { get; init; } = "docker";

    /// <summary>
    /// The client configuration directory (<c>docker --config DIR</c>), where <c>docker login</c>
    /// keeps credentials; null for the user's <c>~/.docker</c>. Tests that log in use their own,
    /// so a login never reaches the user's configuration or another test.
    /// </summary>
    public string? ConfigDirectory { get; init; }

    /// <summary>A client with its own configuration directory (see <see cref="ConfigDirectory"/>).</summary>
    public DockerCli WithConfigDirectory(string path) => new() { Executable = Executable, ConfigDirectory = path };

    /// <summary>True when the client runs and a daemon answers.</summary>
    public async Task<bool> IsAvailableAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            var result = await RunAsync(["version", "--format", "{{.Server.Version}}"], TimeSpan.FromSeconds(20), cancellationToken)
                .ConfigureAwait(false);
            return result.Succeeded && result.StandardOutput.Trim().Length > 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false; // no docker binary
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Throws with a clear message when no Docker engine answers; tests must fail, never skip.</summary>
    public async Task EnsureAvailableAsync(CancellationToken cancellationToken = default)
    {
        if (!await IsAvailableAsync(cancellationToken).ConfigureAwait(false))
        {
            var info = await RunAsync(["version"], TimeSpan.FromSeconds(20), cancellationToken).ConfigureAwait(false);
            throw new InvalidOperationException(
                "No Docker engine answers on this machine (test.sh starts dockerd when none runs).\n" + info);
        }
    }

    /// <summary>Runs <c>docker ARGS</c>; a non-zero exit code is returned, not thrown.</summary>
    public Task<ProcessResult> RunAsync(
        IEnumerable<string> arguments, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
        => RunWithInputAsync(arguments, standardInput: null, timeout, cancellationToken);

    /// <summary>Runs <c>docker ARGS</c> and throws unless it exits 0.</summary>
    public async Task<ProcessResult> RunCheckedAsync(
        IEnumerable<string> arguments, TimeSpan? timeout = null, CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(arguments, timeout, cancellationToken).ConfigureAwait(false);
        return result.EnsureSuccess();
    }

    /// <summary>
    /// <c>docker login REGISTRY -u USER --password-stdin</c>; a refusal is returned, not thrown (tests assert on it).
    /// </summary>
    public Task<ProcessResult> LoginAsync(string registry, RegistryCredentials credentials, CancellationToken cancellationToken = default)
        => RunWithInputAsync(
            ["login", registry, "--username", credentials.Username, "--password-stdin"], credentials.Password, timeout: null, cancellationToken);

    /// <summary><c>docker logout REGISTRY</c>: the next commands for it go anonymously.</summary>
    public Task<ProcessResult> LogoutAsync(string registry, CancellationToken cancellationToken = default)
        => RunCheckedAsync(["logout", registry], cancellationToken: cancellationToken);

    /// <summary><c>docker load -i ARCHIVE</c>; returns the references it loaded.</summary>
    public async Task<IReadOnlyList<string>> LoadAsync(string archivePath, CancellationToken cancellationToken = default)
    {
        var result = await RunCheckedAsync(["load", "-i", archivePath], cancellationToken: cancellationToken).ConfigureAwait(false);
        const string Prefix = "Loaded image: ";
        const string IdPrefix = "Loaded image ID: ";
        return result.StandardOutput
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(line => line.StartsWith(Prefix, StringComparison.Ordinal) ? line[Prefix.Length..]
                : line.StartsWith(IdPrefix, StringComparison.Ordinal) ? line[IdPrefix.Length..]
                : null)
            .OfType<string>()
            .ToList();
    }

    public Task<ProcessResult> TagAsync(string source, string target, CancellationToken cancellationToken = default)
        => RunCheckedAsync(["tag", source, target], cancellationToken: cancellationToken);

    /// <summary><c>docker push</c>; the result's output has the per-layer lines ("Pushed", "Layer already exists", "Mounted from").</summary>
    public Task<ProcessResult> PushAsync(string reference, CancellationToken cancellationToken = default)
        => RunCheckedAsync(["push", reference], cancellationToken: cancellationToken);

    public Task<ProcessResult> PullAsync(string reference, CancellationToken cancellationToken = default)
        => RunCheckedAsync(["pull", reference], cancellationToken: cancellationToken);

    /// <summary><c>docker push</c> whose refusal is returned, not thrown.</summary>
    public Task<ProcessResult> TryPushAsync(string reference, CancellationToken cancellationToken = default)
        => RunAsync(["push", reference], cancellationToken: cancellationToken);

    /// <summary><c>docker pull</c> whose refusal is returned, not thrown.</summary>
    public Task<ProcessResult> TryPullAsync(string reference, CancellationToken cancellationToken = default)
        => RunAsync(["pull", reference], cancellationToken: cancellationToken);

    /// <summary><c>docker rmi</c>; a missing image is not an error (for clean-up).</summary>
    public Task<ProcessResult> RemoveImageAsync(string reference, bool force = false, CancellationToken cancellationToken = default)
        => RunAsync(force ? ["rmi", "--force", reference] : ["rmi", reference], cancellationToken: cancellationToken);

    /// <summary><c>docker run --rm --network none IMAGE [COMMAND…]</c>: containers never get a network.</summary>
    public Task<ProcessResult> RunContainerAsync(
        string image, IEnumerable<string>? command = null, CancellationToken cancellationToken = default)
        => RunCheckedAsync(["run", "--rm", "--network", "none", image, .. command ?? []], cancellationToken: cancellationToken);

    /// <summary><c>docker image inspect --format FORMAT</c>, trimmed.</summary>
    public async Task<string> InspectImageAsync(string reference, string format, CancellationToken cancellationToken = default)
    {
        var result = await RunCheckedAsync(["image", "inspect", "--format", format, reference], cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        return result.StandardOutput.Trim();
    }

    /// <summary>The local image id (<c>sha256:…</c> of the config).</summary>
    public Task<string> ImageIdAsync(string reference, CancellationToken cancellationToken = default)
        => InspectImageAsync(reference, "{{.Id}}", cancellationToken);

    /// <summary>The image's <c>RepoDigests</c> (<c>REPO@sha256:…</c>), known after a push or a pull.</summary>
    public async Task<IReadOnlyList<string>> RepoDigestsAsync(string reference, CancellationToken cancellationToken = default)
    {
        var json = await InspectImageAsync(reference, "{{json .RepoDigests}}", cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Deserialize<List<string>>(json) ?? [];
    }

    /// <summary>True when the engine has an image under that reference.</summary>
    public async Task<bool> ImageExistsAsync(string reference, CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(["image", "inspect", "--format", "{{.Id}}", reference], cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        return result.Succeeded;
    }

    private Task<ProcessResult> RunWithInputAsync(
        IEnumerable<string> arguments, string? standardInput, TimeSpan? timeout, CancellationToken cancellationToken)
    {
        IEnumerable<string> all = ConfigDirectory is null ? arguments : ["--config", ConfigDirectory, .. arguments];
        return ProcessRunner.RunAsync(
            Executable, all, timeout ?? DefaultTimeout, standardInput: standardInput, cancellationToken: cancellationToken);
    }
}
