using Registry.Testing;

namespace Registry.Storage.Tests;

/// <summary>The storage contract on the embedded default: SQLite and the filesystem.</summary>
public sealed class SqliteStorageTests : StorageContractTests
{
    protected override Task<Dictionary<string, string?>> ProviderSettingsAsync() =>
        Task.FromResult(new Dictionary<string, string?> { ["Registry:Database:Provider"] = "Sqlite" });
}

/// <summary>The storage contract on a real PostgreSQL server (one container per test run, a database per test).</summary>
public sealed class PostgresStorageTests : StorageContractTests
{
    protected override async Task<Dictionary<string, string?>> ProviderSettingsAsync()
    {
        var server = await PostgresServer.GetAsync();
        return new Dictionary<string, string?>
        {
            ["Registry:Database:Provider"] = "Postgres",
            ["Registry:Database:ConnectionString"] = await server.CreateDatabaseAsync(),
        };
    }
}

/// <summary>
/// The S3 contract classes run one after the other: both load the one s3rver process (single-threaded), and together
/// with the other classes in parallel they would starve the machine's two cores.
/// </summary>
[CollectionDefinition(Name)]
public sealed class S3StorageCollection
{
    public const string Name = "S3 storage";
}

/// <summary>The storage contract with blobs in S3 (a real s3rver, a bucket per test) and metadata in SQLite.</summary>
[Collection(S3StorageCollection.Name)]
public sealed class SqliteS3StorageTests : StorageContractTests
{
    protected override async Task<Dictionary<string, string?>> ProviderSettingsAsync() => new(await S3Settings.ForNewBucketAsync())
    {
        ["Registry:Database:Provider"] = "Sqlite",
    };
}

/// <summary>The storage contract with blobs in S3 and metadata on a real PostgreSQL server: the scale-out composition.</summary>
[Collection(S3StorageCollection.Name)]
public sealed class PostgresS3StorageTests : StorageContractTests
{
    protected override async Task<Dictionary<string, string?>> ProviderSettingsAsync()
    {
        var server = await PostgresServer.GetAsync();
        return new(await S3Settings.ForNewBucketAsync())
        {
            ["Registry:Database:Provider"] = "Postgres",
            ["Registry:Database:ConnectionString"] = await server.CreateDatabaseAsync(),
        };
    }
}

/// <summary>Settings that put blobs in a new bucket of the shared s3rver.</summary>
internal static class S3Settings
{
    public static async Task<Dictionary<string, string?>> ForNewBucketAsync(string? bucket = null)
    {
        var server = await S3Server.GetAsync();
        return new Dictionary<string, string?>
        {
            ["Registry:Storage:Provider"] = "S3",
            ["Registry:Storage:S3:Endpoint"] = server.Endpoint.ToString(),
            ["Registry:Storage:S3:Bucket"] = bucket ?? S3Server.NewBucketName(),
            ["Registry:Storage:S3:AccessKey"] = S3Server.AccessKey,
            ["Registry:Storage:S3:SecretKey"] = S3Server.SecretKey,
        };
    }
}
