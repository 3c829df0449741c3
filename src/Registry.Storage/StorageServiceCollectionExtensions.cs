using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Registry.Storage.Blobs;
using Registry.Storage.Blobs.S3;
using Registry.Storage.Gc;
using Registry.Storage.Metadata;
using Registry.Storage.Observability;
using Registry.Storage.Policies;
using Registry.Storage.Presence;
using Registry.Storage.Retention;
using Registry.Storage.Services;

namespace Registry.Storage;

public static class StorageServiceCollectionExtensions
{
    /// <summary>
    /// The registry's content store: metadata (SQLite under <paramref name="dataDirectory"/> unless
    /// <c>Registry:Database</c> says otherwise), blobs on the filesystem under it or in S3
    /// (<c>Registry:Storage:Provider</c>), and the services over them.
    /// </summary>
    public static IServiceCollection AddRegistryStorage(this IServiceCollection services, IConfiguration configuration, string dataDirectory)
    {
        OwnerOnly.CreateDirectory(dataDirectory);
        services.AddOptions<RegistryStorageOptions>().BindConfiguration(RegistryStorageOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<GcOptions>().BindConfiguration(GcOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        var database = configuration.GetSection(DatabaseOptions.Section).Get<DatabaseOptions>() ?? new DatabaseOptions();

        switch (database.Provider)
        {
            case DatabaseProvider.Sqlite:
                var sqlite = database.ConnectionString
                    ?? new SqliteConnectionStringBuilder { DataSource = Path.Combine(dataDirectory, "registry.db") }.ToString();
                services.AddDbContextPool<RegistryDbContext, SqliteRegistryDbContext>(o => o.UseSqlite(sqlite));
                services.AddSingleton<IProcessPresence>(_ => new FileLockPresence(SqlitePresenceDirectory(sqlite, dataDirectory)));
                break;
            case DatabaseProvider.Postgres:
                var postgres = database.ConnectionString
                    ?? throw new InvalidOperationException("Registry:Database:ConnectionString is required for PostgreSQL");
                services.AddDbContextPool<RegistryDbContext, PostgresRegistryDbContext>(o => o.UseNpgsql(postgres));
                services.AddSingleton<IProcessPresence>(sp => new PostgresPresence(postgres, sp.GetRequiredService<ILogger<PostgresPresence>>()));
                break;
            default:
                throw new InvalidOperationException($"unknown database provider '{database.Provider}'");
        }

        // Read here because it decides which services exist; an unknown name fails as any unconvertible setting does.
        switch (configuration.GetSection(RegistryStorageOptions.Section).GetValue(nameof(RegistryStorageOptions.Provider), BlobStoreProvider.FileSystem))
        {
            case BlobStoreProvider.FileSystem:
                services.AddFileSystemBlobStore(dataDirectory);
                break;
            case BlobStoreProvider.S3:
                services.AddS3BlobStore();
                break;
            case var unknown:
                throw new InvalidOperationException($"unknown blob store provider '{unknown}'");
        }

        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<UploadHashStates>();
        services.AddScoped<UploadService>();
        services.AddScoped<BlobService>();
        services.AddScoped<ManifestService>();
        services.AddScoped<RepositoryContentService>();
        services.AddScoped<RepositoryService>();
        services.AddRegistryPolicies();
        services.AddScoped<Webhooks.WebhookDeliveryStore>();
        services.AddHostedService<UploadPurger>();
        services.AddSingleton<GcMetrics>();
        services.AddScoped<GarbageCollector>();
        services.AddHostedService<GcWorker>();
        services.AddRegistryRetention();
        return services;
    }

    /// <summary>Beside the database file, which every process using it can reach; in the data directory for a database in memory.</summary>
    private static string SqlitePresenceDirectory(string connectionString, string dataDirectory)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString);
        var inMemory = builder.Mode == SqliteOpenMode.Memory || string.IsNullOrEmpty(builder.DataSource) || builder.DataSource == ":memory:";
        return inMemory ? Path.Combine(dataDirectory, "presence") : FileLockPresence.DirectoryFor(builder.DataSource);
    }

    public static IServiceCollection AddFileSystemBlobStore(this IServiceCollection services, string rootDirectory)
    {
        services.AddSingleton(new FileSystemBlobStore(rootDirectory));
        return services.AddBlobStoreRoles<FileSystemBlobStore>();
    }

    /// <summary>
    /// Serves the store's roles: the blob roles through <see cref="MeteredBlobStore"/>, which counts its failures, and
    /// <see cref="IBlobStoreProbe"/> directly. The host may register its own <see cref="IStorageMetrics"/>.
    /// </summary>
    internal static IServiceCollection AddBlobStoreRoles<TStore>(this IServiceCollection services)
        where TStore : class, IBlobStore, IBlobStoreProbe
    {
        services.TryAddSingleton<IStorageMetrics, NullStorageMetrics>();
        services.AddSingleton<IBlobStore>(sp => new MeteredBlobStore(sp.GetRequiredService<TStore>(), sp.GetRequiredService<IStorageMetrics>()));
        services.AddSingleton<IBlobReader>(sp => sp.GetRequiredService<IBlobStore>());
        services.AddSingleton<IBlobIngester>(sp => sp.GetRequiredService<IBlobStore>());
        services.AddSingleton<IBlobDeleter>(sp => sp.GetRequiredService<IBlobStore>());
        services.AddSingleton<IBlobStoreProbe>(sp => sp.GetRequiredService<TStore>());
        return services;
    }

    /// <summary>Brings the metadata schema up to date (several replicas may race here; EF takes a lock).</summary>
    public static async Task MigrateRegistryDatabaseAsync(this IServiceProvider services, CancellationToken ct = default)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        if (db.Database.IsSqlite())
        {
            RestrictSqliteFiles(db.Database.GetDbConnection().DataSource);

            // WAL lets readers proceed while a push writes; it is a property of the database file.
            await db.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL;", ct);
        }

        await db.Database.MigrateAsync(ct);
    }

    /// <summary>
    /// Creates the SQLite database file as 0600 before SQLite does (it would follow the umask), and takes other
    /// users' access off an existing one. SQLite gives its -wal and -shm files the database file's mode; those left
    /// by an earlier crash are restricted here too.
    /// </summary>
    private static void RestrictSqliteFiles(string path)
    {
        if (OperatingSystem.IsWindows() || string.IsNullOrEmpty(path) || path == ":memory:" || path.StartsWith("file:", StringComparison.Ordinal))
        {
            return;
        }

        // An empty file is an empty database to SQLite; an existing file is left as it is.
        using (new FileStream(path, OwnerOnly.NewFile(FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite)))
        {
        }

        foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
        {
            if (File.Exists(file))
            {
                OwnerOnly.Restrict(file);
            }
        }
    }
}
