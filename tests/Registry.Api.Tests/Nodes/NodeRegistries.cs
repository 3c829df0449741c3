using Registry.Api.Tests.Infrastructure;
using Registry.Testing;

namespace Registry.Api.Tests.Nodes;

/// <summary>
/// A registry for node tests, on SQLite or PostgreSQL. Permissions are read on every request (no cache), so that a
/// pull token stops at once when its container goes; polls are watched every 200 ms. With
/// <paramref name="fastFailure"/>, nodes turn NotReady two seconds after their last heartbeat and containers fail
/// when their node has not reported them within two seconds: for the tests of node failure.
/// </summary>
public abstract class NodeRegistry(bool postgres, bool fastFailure) : IAsyncLifetime
{
    private RegistryFactory? _factory;

    public RegistryFactory Factory => _factory ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Registry:Auth:PermissionCacheDuration"] = "00:00:00",
            ["Registry:Nodes:WatchInterval"] = "00:00:00.200",
        };
        if (fastFailure)
        {
            settings["Registry:Nodes:HeartbeatInterval"] = "00:00:01";
            settings["Registry:Nodes:NotReadyAfter"] = "00:00:02";
            settings["Registry:Nodes:PendingTimeout"] = "00:00:02";
        }

        if (postgres)
        {
            var server = await PostgresServer.GetAsync();
            settings["Registry:Database:Provider"] = "Postgres";
            settings["Registry:Database:ConnectionString"] = await server.CreateDatabaseAsync();
        }

        _factory = RegistryFactory.WithSettings(settings);
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }
}

public sealed class SqliteNodeRegistry() : NodeRegistry(postgres: false, fastFailure: false);

public sealed class PostgresNodeRegistry() : NodeRegistry(postgres: true, fastFailure: false);

public sealed class SqliteFastFailureRegistry() : NodeRegistry(postgres: false, fastFailure: true);

public sealed class PostgresFastFailureRegistry() : NodeRegistry(postgres: true, fastFailure: true);
