using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;

namespace Registry.Api.Tests.Nodes;

/// <summary>Join tokens and joins, on SQLite and PostgreSQL: what a token admits, and every refusal of docs/nodes.md.</summary>
public abstract class JoinTests(NodeRegistry fixture)
{
    private readonly RegistryFactory _registry = fixture.Factory;

    [Fact]
    public async Task AnEmptyBodyMakesASingleUseTokenValidForAnHour()
    {
        using var admin = _registry.CreateAdminApiClient();
        using var created = await admin.PostAsJsonAsync("/api/v1/nodes/join-tokens", new { });
        var token = await NodeApi.ReadAsync(created, HttpStatusCode.Created, "creating a join token");
        var secret = token.GetProperty("token").GetString()!;
        var name = RegistryAccounts.UniqueName("node-");

        using var first = await _registry.JoinAsync(secret, name);
        using var second = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"));
        var joined = await NodeApi.ReadAsync(first, HttpStatusCode.Created, "the join");
        var listed = (await admin.GetFromJsonAsync<JsonElement[]>("/api/v1/nodes/join-tokens"))!
            .Single(t => t.GetProperty("id").GetInt64() == token.GetProperty("id").GetInt64());

        Assert.StartsWith("regjoin_", secret, StringComparison.Ordinal);
        Assert.Equal(1, token.GetProperty("uses").GetInt32());
        Assert.InRange(token.GetProperty("expiresAt").GetDateTime() - DateTime.UtcNow, TimeSpan.FromMinutes(59), TimeSpan.FromMinutes(61));
        Assert.Equal(name, joined.GetProperty("name").GetString());
        Assert.StartsWith("regnode_", joined.GetProperty("credential").GetString(), StringComparison.Ordinal);
        Assert.Equal(5, joined.GetProperty("heartbeatSeconds").GetInt32());
        await NodeApi.AssertApiErrorAsync(second, HttpStatusCode.Unauthorized, "JOIN_TOKEN_INVALID", "the join token has been used");
        Assert.Equal(1, listed.GetProperty("used").GetInt32());
        Assert.False(listed.TryGetProperty("token", out _));
    }

    [Fact]
    public async Task ATokenWithUsesAdmitsThatManyNodesUntilItsExpiry()
    {
        using var admin = _registry.CreateAdminApiClient();
        using var created = await admin.PostAsJsonAsync("/api/v1/nodes/join-tokens", new { uses = 2, expiresIn = "1h30m" });
        var token = await NodeApi.ReadAsync(created, HttpStatusCode.Created, "creating a join token");
        var secret = token.GetProperty("token").GetString()!;

        using var first = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"));
        using var second = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"));
        using var third = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"));

        Assert.InRange(token.GetProperty("expiresAt").GetDateTime() - DateTime.UtcNow, TimeSpan.FromMinutes(89), TimeSpan.FromMinutes(91));
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        await NodeApi.AssertApiErrorAsync(third, HttpStatusCode.Unauthorized, "JOIN_TOKEN_INVALID", "has been used");
    }

    [Fact]
    public async Task AnExpiredTokenIsRefused()
    {
        var secret = await _registry.NewJoinTokenAsync(new { expiresIn = "1s" });
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        using var response = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"));

        await NodeApi.AssertApiErrorAsync(response, HttpStatusCode.Unauthorized, "JOIN_TOKEN_INVALID", "the join token expired at ");
    }

    [Theory]
    [InlineData("regjoin_AAAAAAAAAAAAbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")]
    [InlineData("not-a-token")]
    [InlineData("")]
    public async Task AnUnknownTokenIsRefused(string secret)
    {
        using var response = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"));

        await NodeApi.AssertApiErrorAsync(response, HttpStatusCode.Unauthorized, "JOIN_TOKEN_INVALID", "the join token is not known to this registry");
    }

    [Fact]
    public async Task OfJoinsRacingForTheLastUseOnlyOneWins()
    {
        var secret = await _registry.NewJoinTokenAsync(new { uses = 1 });
        var names = Enumerable.Range(0, 8).Select(_ => RegistryAccounts.UniqueName("node-")).ToList();

        var responses = await Task.WhenAll(names.Select(name => _registry.JoinAsync(secret, name)));
        using var admin = _registry.CreateAdminApiClient();
        var nodes = (await admin.GetFromJsonAsync<JsonElement[]>("/api/v1/nodes"))!.Select(n => n.GetProperty("name").GetString()).ToList();

        Assert.Single(responses, r => r.StatusCode == HttpStatusCode.Created);
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.Created), r => Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode));
        Assert.Single(names, nodes.Contains);
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task ATakenNameIsAConflictAndUsesNothingOfTheToken()
    {
        using var node = await _registry.NewNodeAsync();
        var secret = await _registry.NewJoinTokenAsync();

        using var taken = await _registry.JoinAsync(secret, node.Name);
        using var other = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"));

        await NodeApi.AssertApiErrorAsync(taken, HttpStatusCode.Conflict, "CONFLICT", node.Name);
        Assert.Equal(HttpStatusCode.Created, other.StatusCode);
    }

    [Theory]
    [InlineData("")]
    [InlineData("Node-a")]
    [InlineData("-node")]
    [InlineData("node-")]
    [InlineData("node_a")]
    [InlineData("node.a")]
    [InlineData("join")]
    [InlineData("a123456789012345678901234567890123456789012345678901234567890123")]
    public async Task ABadNameIsRefusedAndUsesNothing(string name)
    {
        var secret = await _registry.NewJoinTokenAsync();

        using var refused = await _registry.JoinAsync(secret, name);
        using var good = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"));

        await NodeApi.AssertApiErrorAsync(refused, HttpStatusCode.BadRequest, "INVALID", "is not a node name");
        Assert.Equal(HttpStatusCode.Created, good.StatusCode);
    }

    [Fact]
    public async Task BadLabelsAreRefused()
    {
        var secret = await _registry.NewJoinTokenAsync();
        var tooMany = Enumerable.Range(0, 65).ToDictionary(i => $"k{i}", _ => "v");

        using var badKey = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"), new Dictionary<string, string> { ["bad key"] = "a" });
        using var badValue = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"), new Dictionary<string, string> { ["zone"] = new string('a', 64) });
        using var many = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"), tooMany);
        using var good = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"), new Dictionary<string, string> { ["example.com/zone"] = "eu-1", ["gpu"] = "" });

        await NodeApi.AssertApiErrorAsync(badKey, HttpStatusCode.BadRequest, "INVALID", "'bad key' is not a label key");
        await NodeApi.AssertApiErrorAsync(badValue, HttpStatusCode.BadRequest, "INVALID", "the value of label 'zone'");
        await NodeApi.AssertApiErrorAsync(many, HttpStatusCode.BadRequest, "INVALID", "at most 64");
        Assert.Equal(HttpStatusCode.Created, good.StatusCode);
    }

    [Fact]
    public async Task AClockFarOffIsRefusedAndUsesNothing()
    {
        var secret = await _registry.NewJoinTokenAsync();

        using var ahead = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"), time: DateTimeOffset.UtcNow.AddMinutes(10));
        using var behind = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"), time: DateTimeOffset.UtcNow.AddMinutes(-3));
        using var good = await _registry.JoinAsync(secret, RegistryAccounts.UniqueName("node-"), time: DateTimeOffset.UtcNow.AddSeconds(30));

        await NodeApi.AssertApiErrorAsync(ahead, HttpStatusCode.BadRequest, "CLOCK_SKEW", "ahead of the registry's");
        await NodeApi.AssertApiErrorAsync(behind, HttpStatusCode.BadRequest, "CLOCK_SKEW", "behind the registry's");
        Assert.Equal(HttpStatusCode.Created, good.StatusCode);
    }

    [Theory]
    [InlineData("31d")]
    [InlineData("1 hour")]
    [InlineData("0s")]
    [InlineData("12")]
    public async Task ABadExpiryIsRefused(string expiresIn)
    {
        using var admin = _registry.CreateAdminApiClient();

        using var response = await admin.PostAsJsonAsync("/api/v1/nodes/join-tokens", new { expiresIn });

        await NodeApi.AssertApiErrorAsync(response, HttpStatusCode.BadRequest, "INVALID", "expiresIn");
    }

    [Fact]
    public async Task ARemovedNodesCredentialFailsAtOnce()
    {
        using var node = await _registry.NewNodeAsync();
        await node.HeartbeatAsync();
        using var admin = _registry.CreateAdminApiClient();

        using var removed = await admin.DeleteAsync($"/api/v1/nodes/{node.Name}");
        using var heartbeat = await node.PostHeartbeatAsync();
        using var listed = await admin.GetAsync($"/api/v1/nodes/{node.Name}");

        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        await NodeApi.AssertApiErrorAsync(heartbeat, HttpStatusCode.Unauthorized, "UNAUTHORIZED", "not known to this registry");
        Assert.Equal(HttpStatusCode.NotFound, listed.StatusCode);
    }
}

public sealed class SqliteJoinTests(SqliteNodeRegistry fixture) : JoinTests(fixture), IClassFixture<SqliteNodeRegistry>;

public sealed class PostgresJoinTests(PostgresNodeRegistry fixture) : JoinTests(fixture), IClassFixture<PostgresNodeRegistry>;
