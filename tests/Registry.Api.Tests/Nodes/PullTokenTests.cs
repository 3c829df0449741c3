using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Nodes;

/// <summary>
/// The pull tokens handed to nodes in their desired state, on SQLite and PostgreSQL: pull of exactly the container's
/// repository through /v2, nothing else, and only while the container is placed on the node and the node exists.
/// </summary>
public abstract class PullTokenTests(NodeRegistry fixture)
{
    private readonly RegistryFactory _registry = fixture.Factory;

    [Fact]
    public async Task APullTokenPullsTheScheduledPrivateImageAndNothingElse()
    {
        var (user, api, image, digest) = await _registry.UserWithImageAsync();
        var repository = $"{user.Name}/app";
        using (var client = _registry.CreateClientFor(user.Name, user.Password))
        {
            await client.PushImageAsync($"{user.Name}/other", "v1");
        }

        using var node = await _registry.NewNodeAsync();
        var id = (await api.RunOkAsync(new { image, node = node.Name })).GetProperty("id").GetString()!;
        var entry = await node.DesiredContainerAsync(id);
        var token = entry.GetProperty("pullToken").GetString()!;
        using var plain = _registry.CreatePlainClient();

        using var pull = await plain.SendWithTokenAsync(HttpMethod.Get, $"/v2/{repository}/manifests/{digest}", token);
        using var other = await plain.SendWithTokenAsync(HttpMethod.Get, $"/v2/{user.Name}/other/manifests/v1", token);
        using var push = await plain.SendWithTokenAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/", token);
        using var catalog = await plain.SendWithTokenAsync(HttpMethod.Get, "/v2/_catalog", token);

        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        Assert.Equal([new GrantedAccess("repository", repository, "pull")], AuthHttp.Grants(token));
        Assert.Equal($"node:{node.Name}", AuthHttp.Payload(token).GetProperty("sub").GetString());
        Assert.InRange(entry.GetProperty("pullTokenExpiresAt").GetDateTime() - DateTime.UtcNow, TimeSpan.FromMinutes(9), TimeSpan.FromMinutes(11));
        await AssertErrorAsync(other, HttpStatusCode.Forbidden, "DENIED");
        await AssertErrorAsync(push, HttpStatusCode.Forbidden, "DENIED");
        Assert.NotEqual(HttpStatusCode.OK, catalog.StatusCode);
        api.Dispose();
    }

    [Fact]
    public async Task APullTokenStopsWorkingWhenTheContainerOrTheNodeIsGone()
    {
        var (user, api, image, digest) = await _registry.UserWithImageAsync();
        var repository = $"{user.Name}/app";
        using var node = await _registry.NewNodeAsync();
        var first = (await api.RunOkAsync(new { image, node = node.Name })).GetProperty("id").GetString()!;
        var token = (await node.DesiredContainerAsync(first)).GetProperty("pullToken").GetString()!;
        using var plain = _registry.CreatePlainClient();

        using (var deleted = await api.DeleteAsync($"/api/v1/containers/{first}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        using var afterDelete = await plain.SendWithTokenAsync(HttpMethod.Get, $"/v2/{repository}/manifests/{digest}", token);
        var second = (await api.RunOkAsync(new { image, node = node.Name })).GetProperty("id").GetString()!;
        using var again = await plain.SendWithTokenAsync(HttpMethod.Get, $"/v2/{repository}/manifests/{digest}", token);
        using (var admin = _registry.CreateAdminApiClient())
        using (var removed = await admin.DeleteAsync($"/api/v1/nodes/{node.Name}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        }

        using var afterRemoval = await plain.SendWithTokenAsync(HttpMethod.Get, $"/v2/{repository}/manifests/{digest}", token);

        await AssertErrorAsync(afterDelete, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        await AssertErrorAsync(afterRemoval, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.NotEqual(first, second);
        api.Dispose();
    }
}

public sealed class SqlitePullTokenTests(SqliteNodeRegistry fixture) : PullTokenTests(fixture), IClassFixture<SqliteNodeRegistry>;

public sealed class PostgresPullTokenTests(PostgresNodeRegistry fixture) : PullTokenTests(fixture), IClassFixture<PostgresNodeRegistry>;
