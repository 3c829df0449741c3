using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Registry.Storage.Observability;
using Registry.Storage.Services;

namespace Registry.Storage.Tests;

/// <summary>
/// The storage layer as the server composes it (real database, real filesystem), on a data
/// directory and database that belong to one test. Dispose and build again on the same data to
/// simulate a restart.
/// </summary>
public sealed class StorageHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;

    private StorageHost(ServiceProvider services, string dataDirectory, IReadOnlyDictionary<string, string?> settings)
    {
        _services = services;
        DataDirectory = dataDirectory;
        Settings = settings;
    }

    public string DataDirectory { get; }

    public IReadOnlyDictionary<string, string?> Settings { get; }

    public FakeTimeProvider Time => _services.GetRequiredService<FakeTimeProvider>();

    /// <param name="metrics">What the storage reports to, in place of nothing.</param>
    public static async Task<StorageHost> StartAsync(string dataDirectory, IReadOnlyDictionary<string, string?> settings, IStorageMetrics? metrics = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        if (metrics is not null)
        {
            services.AddSingleton(metrics);
        }

        services
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Warning))
            .AddSingleton<IConfiguration>(configuration)
            .AddRegistryStorage(configuration, dataDirectory)
            .AddSingleton(new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)))
            .AddSingleton<TimeProvider>(sp => sp.GetRequiredService<FakeTimeProvider>());
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true, ValidateOnBuild = true });
        await provider.MigrateRegistryDatabaseAsync();
        return new StorageHost(provider, dataDirectory, settings);
    }

    /// <summary>Builds the same storage again over the same data (a server restart).</summary>
    public Task<StorageHost> RestartAsync() => StartAsync(DataDirectory, Settings);

    public AsyncServiceScope Scope() => _services.CreateAsyncScope();

    public T Get<T>()
        where T : notnull => _services.GetRequiredService<T>();

    public ValueTask DisposeAsync() => _services.DisposeAsync();
}
