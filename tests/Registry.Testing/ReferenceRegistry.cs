using System.Globalization;
using System.Security.Cryptography;

namespace Registry.Testing;

/// <summary>
/// Debian's <c>docker-registry</c> (CNCF distribution 2.8), the reference implementation,
/// on 127.0.0.1 with filesystem storage in a temporary directory and deletes enabled.
/// </summary>
public sealed class ReferenceRegistry : IRegistryServer
{
    public const string Executable = "/usr/bin/docker-registry";

    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private readonly TemporaryDirectory _directory;
    private readonly string _configPath;
    private ChildProcess? _process;

    private ReferenceRegistry(TemporaryDirectory directory, int port)
    {
        _directory = directory;
        Port = port;
        DataDirectory = directory.Combine("storage");
        _configPath = directory.Combine("config.yml");
        Directory.CreateDirectory(DataDirectory);
        // The HTTP secret signs upload state tokens; a fixed one keeps uploads valid across restarts.
        var secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16));
        File.WriteAllText(_configPath, string.Create(CultureInfo.InvariantCulture, $"""
            version: 0.1
            log:
              level: warn
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {DataDirectory}
              delete:
                enabled: true
              maintenance:
                uploadpurging:
                  enabled: false
            http:
              addr: 127.0.0.1:{port}
              secret: {secret}
            health:
              storagedriver:
                enabled: false
            """));
    }

    public string Name => "reference registry";

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public string HostPort => $"127.0.0.1:{Port}";

    public string DataDirectory { get; }

    /// <summary>The reference registry runs without authentication.</summary>
    public RegistryCredentials? Admin => null;

    public string Output => _process?.Output ?? string.Empty;

    public static async Task<ReferenceRegistry> StartAsync(CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException(
                $"{Executable} is missing: install Debian's docker-registry package (test.sh does).");
        }

        var registry = new ReferenceRegistry(new TemporaryDirectory("reference-registry"), FreePort.Get());
        try
        {
            await registry.StartProcessAsync(cancellationToken).ConfigureAwait(false);
            return registry;
        }
        catch
        {
            await registry.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public void Kill() => _process?.Kill();

    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await StopProcessAsync().ConfigureAwait(false);
        await StartProcessAsync(cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopProcessAsync().ConfigureAwait(false);
        _directory.Dispose();
    }

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        _process = ChildProcess.Start(Executable, ["serve", _configPath]);
        await RegistryReadiness.WaitAsync(BaseAddress, _process, Name, StartTimeout, cancellationToken)
            .ConfigureAwait(false);
    }

    private async Task StopProcessAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync().ConfigureAwait(false);
            _process = null;
        }
    }
}
