using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Nodes;

/// <summary>
/// Who may call what: a node credential works only on the node API, user credentials never there; join tokens,
/// cordon, drain, labels and removal are for administrators; and each is audited.
/// </summary>
public sealed class NodeAccessTests(SqliteNodeRegistry fixture) : IClassFixture<SqliteNodeRegistry>
{
    private readonly RegistryFactory _registry = fixture.Factory;

    [Theory]
    [InlineData("/api/v1/user")]
    [InlineData("/api/v1/containers")]
    [InlineData("/api/v1/nodes")]
    public async Task ANodeCredentialIsRefusedOnUserRoutes(string path)
    {
        using var node = await _registry.NewNodeAsync();

        using var response = await node.Client.GetAsync(path);

        await NodeApi.AssertApiErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED", "a node credential or join token is not a login");
    }

    [Fact]
    public async Task ANodeCredentialIsRefusedByTheTokenEndpoint()
    {
        using var node = await _registry.NewNodeAsync();
        using var plain = _registry.CreatePlainClient();

        using var asPassword = await plain.RequestTokenAsync(node.Name, node.Credential, "repository:any/app:pull");
        using var asAdminPassword = await plain.RequestTokenAsync(RegistryFactory.Admin, node.Credential, "repository:any/app:pull");

        await AuthHttp.AssertErrorMessageAsync(asPassword, HttpStatusCode.Unauthorized, "UNAUTHORIZED", "a node credential or join token is not a login");
        await AuthHttp.AssertErrorMessageAsync(asAdminPassword, HttpStatusCode.Unauthorized, "UNAUTHORIZED", "a node credential or join token is not a login");
    }

    [Fact]
    public async Task ANodeCredentialCannotPushOrPullThroughV2()
    {
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync();
        var repository = image[..image.IndexOf(':', StringComparison.Ordinal)];

        using var push = await node.Client.PostAsync($"/v2/{repository}/blobs/uploads/", null);
        using var pull = await node.Client.GetAsync($"/v2/{repository}/manifests/v1");

        await AssertErrorAsync(push, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        await AssertErrorAsync(pull, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        api.Dispose();
    }

    [Fact]
    public async Task UserCredentialsAreRefusedOnTheNodeApi()
    {
        var alice = await _registry.NewUserAsync();
        using var basic = _registry.CreateApiClient(alice.Name, alice.Password);
        using var admin = _registry.CreateAdminApiClient();
        var pat = (await _registry.NewPersonalTokenAsync(alice, new { name = "t", scope = "read-write-delete" })).GetProperty("token").GetString()!;
        using var bearer = _registry.CreatePlainClient();
        bearer.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", pat);

        using var withPassword = await basic.GetAsync("/api/v1/node/desired?wait=0");
        using var withAdmin = await admin.PostAsJsonAsync("/api/v1/node/heartbeat", new { });
        using var withToken = await bearer.GetAsync("/api/v1/node/desired?wait=0");

        await NodeApi.AssertApiErrorAsync(withPassword, HttpStatusCode.Unauthorized, "UNAUTHORIZED", "a node credential is required");
        await NodeApi.AssertApiErrorAsync(withAdmin, HttpStatusCode.Unauthorized, "UNAUTHORIZED", "a node credential is required");
        await NodeApi.AssertApiErrorAsync(withToken, HttpStatusCode.Unauthorized, "UNAUTHORIZED", "a node credential is required");
    }

    [Fact]
    public async Task OnlyAdministratorsManageJoinTokensAndNodes()
    {
        using var node = await _registry.NewNodeAsync();
        var alice = await _registry.NewUserAsync();
        using var api = _registry.CreateApiClient(alice.Name, alice.Password);

        using var create = await api.PostAsJsonAsync("/api/v1/nodes/join-tokens", new { });
        using var list = await api.GetAsync("/api/v1/nodes/join-tokens");
        using var delete = await api.DeleteAsync("/api/v1/nodes/join-tokens/1");
        using var cordon = await api.PostAsync($"/api/v1/nodes/{node.Name}/cordon", null);
        using var drain = await api.PostAsync($"/api/v1/nodes/{node.Name}/drain", null);
        using var labels = await api.PatchAsJsonAsync($"/api/v1/nodes/{node.Name}", new { labels = new { zone = "x" } });
        using var remove = await api.DeleteAsync($"/api/v1/nodes/{node.Name}");
        using var status = await api.GetAsync("/api/v1/nodes");
        var after = await _registry.GetNodeAsync(node.Name);

        foreach (var refused in new[] { create, list, delete, cordon, drain, labels, remove })
        {
            await NodeApi.AssertApiErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED", "administrators only");
        }

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Equal("Ready", after.GetProperty("status").GetString());
        Assert.Empty(after.GetProperty("labels").EnumerateObject());
    }

    [Fact]
    public async Task CordonDrainLabelsAndRemovalChangeTheStatusAndAreAudited()
    {
        using var node = await _registry.NewNodeAsync();
        using var admin = _registry.CreateAdminApiClient();

        using var cordon = await admin.PostAsync($"/api/v1/nodes/{node.Name}/cordon", null);
        var cordoned = await NodeApi.ReadAsync(cordon, HttpStatusCode.OK, "cordon");
        using var uncordon = await admin.PostAsync($"/api/v1/nodes/{node.Name}/uncordon", null);
        var ready = await NodeApi.ReadAsync(uncordon, HttpStatusCode.OK, "uncordon");
        using var drain = await admin.PostAsync($"/api/v1/nodes/{node.Name}/drain", null);
        var draining = await NodeApi.ReadAsync(drain, HttpStatusCode.OK, "drain");
        using var labels = await admin.PatchAsJsonAsync($"/api/v1/nodes/{node.Name}", new { labels = new { zone = "b" } });
        var labelled = await NodeApi.ReadAsync(labels, HttpStatusCode.OK, "labels");
        using var remove = await admin.DeleteAsync($"/api/v1/nodes/{node.Name}");
        var audit = (await admin.GetFromJsonAsync<JsonElement[]>($"/api/v1/audit?actor={RegistryFactory.Admin}&limit=200"))!
            .Where(e => e.GetProperty("target").GetString() == node.Name).Select(e => e.GetProperty("action").GetString()).ToList();
        var joins = (await admin.GetFromJsonAsync<JsonElement[]>("/api/v1/audit?action=node.join&limit=200"))!
            .Select(e => e.GetProperty("target").GetString()).ToList();

        Assert.Equal("Cordoned", cordoned.GetProperty("status").GetString());
        Assert.Equal("Ready", ready.GetProperty("status").GetString());
        Assert.Equal("Draining", draining.GetProperty("status").GetString());
        Assert.Equal("b", labelled.GetProperty("labels").GetProperty("zone").GetString());
        Assert.Equal(HttpStatusCode.NoContent, remove.StatusCode);
        Assert.Equal(["node.remove", "node.labels", "node.drain", "node.uncordon", "node.cordon"], audit);
        Assert.Contains(node.Name, joins);
    }

    [Fact]
    public async Task JoinTokensAreAuditedWithoutTheirSecret()
    {
        using var admin = _registry.CreateAdminApiClient();
        using var created = await admin.PostAsJsonAsync("/api/v1/nodes/join-tokens", new { uses = 3 });
        var token = await NodeApi.ReadAsync(created, HttpStatusCode.Created, "creating a join token");
        var id = token.GetProperty("id").GetInt64();

        using var deleted = await admin.DeleteAsync($"/api/v1/nodes/join-tokens/{id}");
        using var joined = await _registry.JoinAsync(token.GetProperty("token").GetString()!, RegistryAccounts.UniqueName("node-"));
        var audit = (await admin.GetFromJsonAsync<JsonElement[]>($"/api/v1/audit?actor={RegistryFactory.Admin}&limit=200"))!
            .Where(e => e.GetProperty("target").GetString() == $"join token {id}").ToList();

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await NodeApi.AssertApiErrorAsync(joined, HttpStatusCode.Unauthorized, "JOIN_TOKEN_INVALID", "not known");
        Assert.Equal(["join-token.delete", "join-token.create"], audit.Select(e => e.GetProperty("action").GetString()));
        Assert.DoesNotContain(token.GetProperty("token").GetString()!, string.Join(' ', audit.Select(e => e.GetRawText())), StringComparison.Ordinal);
    }
}
