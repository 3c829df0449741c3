using System.Reflection;
using System.Security.Cryptography;

namespace Registry.Testing;

/// <summary>
/// Our registry as a real child process: <c>dotnet Registry.Api.dll --urls http://127.0.0.1:PORT</c>
/// from the solution's build output, with <c>REGISTRY_DATA_DIR</c> set. A test can kill it
/// (SIGKILL) and restart it on the same port and data directory.
/// Authentication is on as in production, and stricter by default: user <c>admin</c> gets a random
/// password (<see cref="AdminPassword"/>) and anonymous pulls are off
/// (<c>Registry__Auth__AnonymousPull=false</c>); the environment argument overrides both.
/// </summary>
public sealed class RegistryProcess : IRegistryServer
{
    public const string AdminUsername = "admin";
    public const string AdminPasswordVariable = "REGISTRY_ADMIN_PASSWORD";
    public const string AnonymousPullVariable = "Registry__Auth__AnonymousPull";

    private static readonly TimeSpan DefaultStartTimeout = TimeSpan.FromSeconds(30);

    private readonly TemporaryDirectory? _ownedDirectory;
    private readonly IReadOnlyDictionary<string, string?> _environment;
    private readonly string _assemblyPath;
    private ChildProcess? _process;
    private TimeSpan _startTimeout = DefaultStartTimeout;

    private RegistryProcess(
        string assemblyPath, int port, string dataDirectory, TemporaryDirectory? ownedDirectory,
        IReadOnlyDictionary<string, string?>? environment)
    {
        _assemblyPath = assemblyPath;
        Port = port;
        DataDirectory = dataDirectory;
        _ownedDirectory = ownedDirectory;
        var merged = new Dictionary<string, string?>(StringComparer.Ordinal)
        {
            ["REGISTRY_DATA_DIR"] = dataDirectory,
            // Development would read user secrets and show developer pages; tests want production behaviour.
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
            [AdminPasswordVariable] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)),
            [AnonymousPullVariable] = "false",
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        _environment = merged;
        AdminPassword = merged[AdminPasswordVariable]
            ?? throw new ArgumentException($"{AdminPasswordVariable} must not be removed: the tests log in as admin.", nameof(environment));
    }

    public string Name => "registry";

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public string HostPort => $"127.0.0.1:{Port}";

    public string DataDirectory { get; }

    /// <summary>The password of <c>admin</c>, set at the first start of a data directory.</summary>
    public string AdminPassword { get; }

    public RegistryCredentials Admin => new(AdminUsername, AdminPassword);

    RegistryCredentials? IRegistryServer.Admin => Admin;

    public string Output => _process?.Output ?? string.Empty;

    /// <summary>
    /// Starts the registry and waits until <c>GET /v2/</c> answers (200, or 401 with a challenge).
    /// </summary>
    /// <param name="dataDirectory">Reuse this data directory (kept on dispose); null for a fresh temporary one.</param>
    /// <param name="port">Listen on this port; null for a free one.</param>
    /// <param name="environment">Extra environment variables (ASP.NET configuration keys).</param>
    /// <param name="startTimeout">How long the start may take (30 s by default); longer for a replica that waits for another's start.</param>
    public static async Task<RegistryProcess> StartAsync(
        string? dataDirectory = null,
        int? port = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        TimeSpan? startTimeout = null,
        CancellationToken cancellationToken = default)
    {
        var assembly = FindApiAssembly();
        TemporaryDirectory? owned = null;
        if (dataDirectory is null)
        {
            owned = new TemporaryDirectory("registry-data");
            dataDirectory = owned.Path;
        }

        var registry = new RegistryProcess(assembly, port ?? FreePort.Get(), dataDirectory, owned, environment)
        {
            _startTimeout = startTimeout ?? DefaultStartTimeout,
        };
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

    /// <summary>
    /// The Registry.Api.dll the tests run: <c>REGISTRY_API_DLL</c> if set, else the build output
    /// of the configuration these tests were built with, then Release, then Debug.
    /// </summary>
    public static string FindApiAssembly()
    {
        var explicitPath = Environment.GetEnvironmentVariable("REGISTRY_API_DLL");
        if (!string.IsNullOrEmpty(explicitPath))
        {
            return File.Exists(explicitPath)
                ? explicitPath
                : throw new FileNotFoundException($"REGISTRY_API_DLL points to a missing file.", explicitPath);
        }

        var own = typeof(RegistryProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration;
        var configurations = new[] { own, "Release", "Debug" }
            .Where(c => !string.IsNullOrEmpty(c))
            .Distinct(StringComparer.Ordinal)
            .ToList();
        var candidates = configurations
            .Select(c => Path.Combine(RepositoryRoot.Path, "src", "Registry.Api", "bin", c!, "net10.0", "Registry.Api.dll"))
            .ToList();
        return candidates.FirstOrDefault(File.Exists)
            ?? throw new FileNotFoundException(
                "Registry.Api.dll is not built; build the solution first. Looked at:\n" + string.Join('\n', candidates));
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
        _ownedDirectory?.Dispose();
    }

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        _process = ChildProcess.Start(
            "dotnet",
            [_assemblyPath, "--urls", $"http://127.0.0.1:{Port}"],
            _environment,
            // The content root (appsettings.json, wwwroot) is the build output, as with `dotnet run`.
            workingDirectory: Path.GetDirectoryName(_assemblyPath));
        await RegistryReadiness.WaitAsync(BaseAddress, _process, Name, _startTimeout, cancellationToken)
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
