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
