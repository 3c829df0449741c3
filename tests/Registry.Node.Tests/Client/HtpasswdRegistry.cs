using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using Registry.Testing;

namespace Registry.Node.Tests.Client;

/// <summary>
/// The reference registry (Debian's docker-registry) with htpasswd authentication: every request
/// needs Basic credentials, answered with <c>WWW-Authenticate: Basic</c>. The shared
/// <see cref="ReferenceRegistry"/> fixture has no auth option, hence this small launcher.
/// </summary>
public sealed class HtpasswdRegistry : IRegistryServer
{
    public const string Username = "node-user";
    public const string Password = "node-password-42";

    private readonly TemporaryDirectory _directory;
    private readonly ChildProcess _process;

    private HtpasswdRegistry(TemporaryDirectory directory, ChildProcess process, int port)
    {
        _directory = directory;
        _process = process;
        Port = port;
    }

    public string Name => "reference registry with htpasswd";

    public int Port { get; }

    public Uri BaseAddress => new($"http://127.0.0.1:{Port}/");

    public string HostPort => $"127.0.0.1:{Port}";

    public string DataDirectory => _directory.Combine("storage");

    /// <summary>Its only user, who may do everything.</summary>
    public RegistryCredentials? Admin => new(Username, Password);

    public string Output => _process.Output;

    public static async Task<HtpasswdRegistry> StartAsync()
    {
        var directory = new TemporaryDirectory("htpasswd-registry");
        var port = FreePort.Get();
        var htpasswd = directory.Combine("htpasswd");
        await File.WriteAllTextAsync(htpasswd, $"{Username}:{Bcrypt.Hash(Password)}\n");
        var config = directory.Combine("config.yml");
        await File.WriteAllTextAsync(config, string.Create(CultureInfo.InvariantCulture, $"""
            version: 0.1
            log:
              level: warn
              accesslog:
                disabled: true
            storage:
              filesystem:
                rootdirectory: {directory.Combine("storage")}
            http:
              addr: 127.0.0.1:{port}
            auth:
              htpasswd:
                realm: node-tests
                path: {htpasswd}
            """));
        var process = ChildProcess.Start(ReferenceRegistry.Executable, ["serve", config]);
        var registry = new HtpasswdRegistry(directory, process, port);
        try
        {
            await registry.WaitUntilChallengingAsync();
            return registry;
        }
        catch
        {
            await registry.DisposeAsync();
            throw;
        }
    }

    public void Kill() => throw new NotSupportedException();

    public Task RestartAsync(CancellationToken cancellationToken = default) => throw new NotSupportedException();

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync();
        _directory.Dispose();
    }

    // Ready when /v2/ answers 401 with a Basic challenge (200 would mean auth is off: a broken fixture).
    private async Task WaitUntilChallengingAsync()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited:\n{_process.Output}");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(BaseAddress, "/v2/"));
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    return;
                }

                throw new InvalidOperationException($"{Name} answered {(int)response.StatusCode} to an anonymous /v2/; auth is not on");
            }
            catch (HttpRequestException)
            {
                await Task.Delay(100);
            }
        }

        throw new TimeoutException($"{Name} did not start:\n{_process.Output}");
    }

    /// <summary>
    /// bcrypt through the system's libcrypt (libxcrypt, always present on Debian): htpasswd from
    /// apache2-utils is not installed here and no NuGet package is needed for one hash.
    /// </summary>
    private static class Bcrypt
    {
        public static string Hash(string password)
        {
            var setting = Marshal.PtrToStringUTF8(NativeMethods.crypt_gensalt("$2b$", 5, IntPtr.Zero, 0))
                ?? throw new InvalidOperationException("crypt_gensalt failed");
            var hash = Marshal.PtrToStringUTF8(NativeMethods.crypt(password, setting));
            return hash is not null && hash.StartsWith("$2b$", StringComparison.Ordinal)
                ? hash
                : throw new InvalidOperationException($"libcrypt did not produce a bcrypt hash ({hash})");
        }
    }

    private static class NativeMethods
    {
        [DllImport("libcrypt.so.1", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern IntPtr crypt_gensalt(string prefix, ulong count, IntPtr randomBytes, int randomByteCount);

        [DllImport("libcrypt.so.1", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
        public static extern IntPtr crypt(string phrase, string setting);
    }
}
