using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Registry.Api.Tests.Infrastructure;

/// <summary>
/// The registry in process with its real storage: SQLite and blobs in a temporary data directory
/// of its own. Used as a class fixture, so every test class starts from an empty registry; tests in
/// a class still use unique repository names and never rely on each other's data.
/// </summary>
public sealed class RegistryFactory : WebApplicationFactory<Program>
{
    private readonly bool _ownsDirectory;
    private readonly IReadOnlyDictionary<string, string?> _settings;

    public RegistryFactory()
        : this(NewDataDirectory(), ownsDirectory: true, new Dictionary<string, string?>())
    {
    }

    private RegistryFactory(string dataDirectory, bool ownsDirectory, IReadOnlyDictionary<string, string?> settings)
    {
        DataDirectory = dataDirectory;
        _ownsDirectory = ownsDirectory;
        _settings = settings;
    }

    public string DataDirectory { get; }

    /// <summary>A registry on a fresh data directory with extra configuration (e.g. deletes disabled).</summary>
    public static RegistryFactory WithSettings(IReadOnlyDictionary<string, string?> settings) =>
        new(NewDataDirectory(), ownsDirectory: true, settings);

    /// <summary>A second registry process over the same data directory, as after a restart. The caller keeps the directory.</summary>
    public static RegistryFactory OnExistingDirectory(string dataDirectory) =>
        new(dataDirectory, ownsDirectory: false, new Dictionary<string, string?>());

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
        return new Uri(addresses.Single());
    }

    /// <summary>A client whose requests fail rather than hang when the server does not answer.</summary>
    /// <param name="baseAddress">The server's address when it runs on Kestrel.</param>
    public HttpClient CreateRegistryClient(Uri? baseAddress = null)
    {
        var options = new WebApplicationFactoryClientOptions { AllowAutoRedirect = false };
        if (baseAddress is not null)
        {
            options.BaseAddress = baseAddress;
        }

        var client = CreateClient(options);
        client.Timeout = TimeSpan.FromSeconds(60);
        return client;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Testing");
        builder.UseSetting("Registry:DataDirectory", DataDirectory);
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
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
