using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Identity;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Registry.Api.Tests.Infrastructure;

/// <summary>
/// The registry in process with its real storage: SQLite and blobs in a temporary data directory
/// of its own. Used as a class fixture, so every test class starts from an empty registry; tests in
/// a class still use unique repository names and never rely on each other's data.
/// </summary>
/// <remarks>
/// Authentication is on and anonymous pulls are off, as in a locked-down deployment; clients from
/// <see cref="CreateRegistryClient"/> sign in as the administrator with a password of this factory.
/// </remarks>
public sealed class RegistryFactory : WebApplicationFactory<Program>
{
    public const string Admin = "admin";

    private readonly bool _ownsDirectory;
    private readonly IReadOnlyDictionary<string, string?> _settings;
    private readonly List<Action<IServiceCollection>> _services = [];
    private Uri? _kestrelAddress;

    public RegistryFactory()
        : this(NewDataDirectory(), ownsDirectory: true, NewAdminPassword(), new Dictionary<string, string?>())
    {
    }

    private RegistryFactory(string dataDirectory, bool ownsDirectory, string adminPassword, IReadOnlyDictionary<string, string?> settings)
    {
        DataDirectory = dataDirectory;
        _ownsDirectory = ownsDirectory;
        AdminPassword = adminPassword;
        _settings = settings;
    }

    public string DataDirectory { get; }

    /// <summary>The password of <see cref="Admin"/>, configured as <c>Registry:Auth:AdminPassword</c>.</summary>
    public string AdminPassword { get; }

    /// <summary>A registry on a fresh data directory with extra configuration (e.g. deletes disabled); it overrides the defaults here.</summary>
    public static RegistryFactory WithSettings(IReadOnlyDictionary<string, string?> settings) =>
        new(NewDataDirectory(), ownsDirectory: true, NewAdminPassword(), settings);

    /// <summary>
    /// A second registry process over the same data directory, as after a restart or as another replica.
    /// The caller keeps the directory and gives the administrator password the first process was started with.
    /// </summary>
    public static RegistryFactory OnExistingDirectory(string dataDirectory, string adminPassword, IReadOnlyDictionary<string, string?>? settings = null) =>
        new(dataDirectory, ownsDirectory: false, adminPassword, settings ?? new Dictionary<string, string?>());

    /// <summary>Replaces services of the application (e.g. its <see cref="TimeProvider"/>) before it starts.</summary>
    public RegistryFactory WithServices(Action<IServiceCollection> configure)
    {
        _services.Add(configure);
        return this;
    }

    /// <summary>Serves on a real Kestrel socket at 127.0.0.1 instead of the in-memory test server.</summary>
    public RegistryFactory OnKestrel()
    {
        UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        return this;
    }

    /// <summary>Starts the server set up by <see cref="OnKestrel"/> and returns the address it listens on.</summary>
    public Uri StartKestrel()
    {
        StartServer();
        var addresses = Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        _kestrelAddress = new Uri(addresses.Single());
        return _kestrelAddress;
    }

    /// <summary>A client signed in as the administrator, through <see cref="TokenAuthHandler"/>.</summary>
    /// <param name="baseAddress">The server's address when it runs on Kestrel; by default the one it was started on.</param>
    public HttpClient CreateRegistryClient(Uri? baseAddress = null) => CreateClientFor(Admin, AdminPassword, baseAddress);

    /// <summary>A client that fetches tokens without credentials, as a pull without docker login does.</summary>
    public HttpClient CreateAnonymousClient(Uri? baseAddress = null) => CreateHttpClient(baseAddress, new TokenAuthHandler(null, null));

    /// <summary>A client that fetches tokens with this user's password (or personal access token).</summary>
    public HttpClient CreateClientFor(string username, string password, Uri? baseAddress = null) =>
        CreateHttpClient(baseAddress, new TokenAuthHandler(username, password));

    /// <summary>A client that adds nothing to the requests: for the token endpoint and for what a client without a token sees.</summary>
    public HttpClient CreatePlainClient(Uri? baseAddress = null) => CreateHttpClient(baseAddress);

    /// <summary>
    /// On Kestrel (<see cref="OnKestrel"/>): a client whose connections come from another loopback address
    /// (127.0.0.2, …), as a client on another machine's would; Linux answers on all of 127.0.0.0/8.
    /// </summary>
    public HttpClient CreateClientFrom(IPAddress source)
    {
        var address = _kestrelAddress ?? throw new InvalidOperationException("the registry does not run on Kestrel");
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(source.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(IPAddress.Parse(context.DnsEndPoint.Host), context.DnsEndPoint.Port, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = address, Timeout = TimeSpan.FromSeconds(60) };
    }

    /// <summary>A client for the REST API /api/v1 that sends Basic credentials with every request.</summary>
    public HttpClient CreateApiClient(string username, string password)
    {
        var client = CreateHttpClient(baseAddress: null);
        client.DefaultRequestHeaders.Authorization = TokenAuthHandler.Basic(username, password);
        return client;
    }

    /// <summary>
    /// An administrator's token for the given scopes (<c>repository:NAME:pull,push</c>), for requests
    /// written by hand on a <see cref="RawHttpConnection"/>: send it as <c>Authorization: Bearer</c>.
    /// </summary>
    public async Task<string> IssueTokenAsync(params string[] scopes)
    {
        using var client = CreatePlainClient();
        return await client.TokenAsync(Admin, AdminPassword, scopes);
    }

    /// <summary>A client whose requests fail rather than hang when the server does not answer, and which follows no redirects.</summary>
    private HttpClient CreateHttpClient(Uri? baseAddress, DelegatingHandler? handler = null)
    {
        HttpClient client;
        if (_kestrelAddress is null)
        {
            client = CreateDefaultClient(baseAddress ?? new Uri("http://localhost"), handler is null ? [] : [handler]);
        }
        else
        {
            HttpMessageHandler socket = new SocketsHttpHandler { AllowAutoRedirect = false };
            if (handler is not null)
            {
                handler.InnerHandler = socket;
            }

            client = new HttpClient(handler ?? socket) { BaseAddress = baseAddress ?? _kestrelAddress };
        }

        client.Timeout = TimeSpan.FromSeconds(60);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Registry:DataDirectory", DataDirectory);
        builder.UseSetting("Registry:Auth:AdminPassword", AdminPassword);
        builder.UseSetting("Registry:Auth:AnonymousPull", "false");

        // Every test's requests come from one address (none, in process), in bursts no client sends; the rate
        // limiter's own tests set small limits.
        builder.UseSetting("Registry:RateLimit:PerAddressLimit", "10000000");
        builder.UseSetting("Registry:RateLimit:GlobalLimit", "10000000");
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }

        // Password hashing is made slow on purpose; hundreds of logins per run need it cheap. The hash
        // format records its iteration count, so what is tested stays the same.
        builder.ConfigureTestServices(services => services.Configure<PasswordHasherOptions>(o => o.IterationCount = 1000));
        foreach (var configure in _services)
        {
            builder.ConfigureTestServices(configure);
        }
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        if (_ownsDirectory)
        {
            DeleteDirectory(DataDirectory);
        }
    }

    internal static string NewDataDirectory() =>
        Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "registry-api-tests", Guid.NewGuid().ToString("N"))).FullName;

    /// <summary>A password no other factory uses, so a test cannot pass by guessing it.</summary>
    public static string NewAdminPassword() => "admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(16));

    internal static void DeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temporary directory is harmless; failing the test run over it is not.
        }
    }
}
