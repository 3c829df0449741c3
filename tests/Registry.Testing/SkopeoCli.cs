using System.Security.Cryptography;

namespace Registry.Testing;

/// <summary>
/// The <c>skopeo</c> command line, for plain-HTTP registries on 127.0.0.1. With an
/// <see cref="AuthFile"/> every command reads credentials from that file only, never from the
/// user's own <c>auth.json</c> or <c>~/.docker/config.json</c>.
/// </summary>
public sealed class SkopeoCli
{
    public const string Executable = "skopeo";

    private static readonly TimeSpan Timeout = TimeSpan.FromMinutes(3);

    /// <summary>The client without credentials of its own: for registries that ask for no login.</summary>
    public static SkopeoCli Default { get; } = new();

    /// <summary>A docker config / containers auth.json (<c>--authfile</c>); null for skopeo's default.</summary>
    public string? AuthFile { get; init; }

    /// <summary>A client reading credentials from <paramref name="path"/> (see <see cref="RegistryCredentials.WriteAuthFile"/>).</summary>
    public static SkopeoCli WithAuthFile(string path) => new() { AuthFile = path };

    /// <summary>Runs <c>skopeo ARGS</c> and throws unless it exits 0.</summary>
    public static async Task<ProcessResult> RunAsync(IEnumerable<string> arguments, CancellationToken cancellationToken = default)
    {
        var result = await TryRunAsync(arguments, cancellationToken).ConfigureAwait(false);
        return result.EnsureSuccess();
    }

    /// <summary>Runs <c>skopeo ARGS</c>; a non-zero exit code is returned, not thrown.</summary>
    public static Task<ProcessResult> TryRunAsync(IEnumerable<string> arguments, CancellationToken cancellationToken = default)
        => ProcessRunner.RunAsync(Executable, arguments, Timeout, cancellationToken: cancellationToken);

    /// <summary><c>skopeo copy</c> without TLS on either side; <paramref name="extra"/> e.g. <c>--all</c>, <c>--preserve-digests</c>.</summary>
    public Task<ProcessResult> CopyAsync(
        string source, string destination, IEnumerable<string>? extra = null, CancellationToken cancellationToken = default)
        => RunAsync(
            ["copy", "--src-tls-verify=false", "--dest-tls-verify=false", .. AuthArguments, .. extra ?? [], source, destination],
            cancellationToken);

    /// <summary>The manifest (or index) exactly as the registry serves it.</summary>
    public async Task<string> InspectRawAsync(string image, CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(["inspect", "--tls-verify=false", .. AuthArguments, "--raw", image], cancellationToken).ConfigureAwait(false);
        return result.StandardOutput;
    }

    /// <summary>The digest of the manifest <c>skopeo inspect --raw</c> prints (its bytes as served, hashed here).</summary>
    public async Task<string> RawDigestAsync(string image, CancellationToken cancellationToken = default)
    {
        var raw = await InspectRawAsync(image, cancellationToken).ConfigureAwait(false);
        // skopeo prints the bytes unchanged; it adds no newline of its own.
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(raw)));
    }

    /// <summary><c>skopeo inspect --format FORMAT</c>, trimmed; extra options before the image (e.g. <c>--override-arch</c>).</summary>
    public async Task<string> InspectAsync(
        string image, string format, IEnumerable<string>? extra = null, CancellationToken cancellationToken = default)
    {
        var result = await RunAsync(["inspect", "--tls-verify=false", .. AuthArguments, .. extra ?? [], "--format", format, image], cancellationToken)
            .ConfigureAwait(false);
        return result.StandardOutput.Trim();
    }

    private string[] AuthArguments => AuthFile is null ? [] : ["--authfile", AuthFile];
}
