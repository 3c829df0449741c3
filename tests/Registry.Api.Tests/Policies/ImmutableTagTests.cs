using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Policies;

/// <summary>Immutable-tag rules through /api/v1 and /v2, on SQLite (<see cref="SqliteImmutableTagTests"/>) and PostgreSQL.</summary>
public abstract class ImmutableTagTests(RegistryFactory registry)
{
    private static async Task<long> AddRuleAsync(HttpClient api, string ns, string pattern, string? repository = null)
    {
        using var response = await api.PostAsJsonAsync($"/api/v1/namespaces/{ns}/immutable-tags", new { pattern, repository });
        await RegistryAccounts.AssertStatusAsync(response, HttpStatusCode.Created, $"adding the rule {pattern}");
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(pattern, json.RootElement.GetProperty("pattern").GetString());
        return json.RootElement.GetProperty("id").GetInt64();
    }

    [Fact]
    public async Task AnImmutableTagCannotBeMovedOrDeletedButANewTagIsPushed()
    {
        var owner = await registry.NewUserAsync();
        var org = await registry.NewOrganizationAsync(owner);
        using var api = registry.CreateApiClient(owner.Name, owner.Password);
        using var client = registry.CreateClientFor(owner.Name, owner.Password);
        await AddRuleAsync(api, org, "1.*", $"{org}/app");
        var first = await client.PushImageAsync($"{org}/app", "1.0", TestBlob.Random(100));
        var second = await client.PrepareImageAsync($"{org}/app", TestBlob.Random(100));

        using var move = await client.PutManifestAsync($"{org}/app", "1.0", second);
        using var again = await client.PutManifestAsync($"{org}/app", "1.0", first);
        using var deleteTag = await client.SendAsync(HttpMethod.Delete, $"/v2/{org}/app/manifests/1.0");
        using var deleteDigest = await client.SendAsync(HttpMethod.Delete, $"/v2/{org}/app/manifests/{first.Digest}");
        using var newTag = await client.PutManifestAsync($"{org}/app", "1.1", second);
        using var pulled = await client.GetAsync($"/v2/{org}/app/manifests/1.0");

        await AssertErrorMessageAsync(move, HttpStatusCode.Forbidden, "DENIED", $"tag 1.0 of {org}/app is immutable (rule \"1.*\"); push a new tag");
        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        await AssertErrorMessageAsync(deleteTag, HttpStatusCode.Forbidden, "DENIED", "is immutable");
        await AssertErrorMessageAsync(deleteDigest, HttpStatusCode.Forbidden, "DENIED", "carries the immutable tag 1.0");
        Assert.Equal(HttpStatusCode.Created, newTag.StatusCode);
        Assert.Equal(first.Digest, Header(pulled, "Docker-Content-Digest"));
    }

    [Fact]
    public async Task DeletingTheRuleMakesTheTagMovableAgain()
    {
        var owner = await registry.NewUserAsync();
        using var api = registry.CreateApiClient(owner.Name, owner.Password);
        using var client = registry.CreateClientFor(owner.Name, owner.Password);
        var id = await AddRuleAsync(api, owner.Name, "v[0-9]*");
        await client.PushImageAsync($"{owner.Name}/tool", "v1", TestBlob.Random(100));
        var next = await client.PrepareImageAsync($"{owner.Name}/tool", TestBlob.Random(100));
        using var refused = await client.PutManifestAsync($"{owner.Name}/tool", "v1", next);
        await AssertErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED");

        using var listed = await api.GetFromJsonAsync<JsonDocument>($"/api/v1/namespaces/{owner.Name}/immutable-tags");
        using var delete = await api.DeleteAsync($"/api/v1/namespaces/{owner.Name}/immutable-tags/{id}");
        using var deleteAgain = await api.DeleteAsync($"/api/v1/namespaces/{owner.Name}/immutable-tags/{id}");

        var rule = Assert.Single(listed!.RootElement.EnumerateArray());
        Assert.Equal(JsonValueKind.Null, rule.GetProperty("repository").ValueKind);
        Assert.Equal(owner.Name, rule.GetProperty("createdBy").GetString());
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, deleteAgain.StatusCode);
        await client.PushManifestAsync($"{owner.Name}/tool", "v1", next);
        using var admin = registry.CreateAdminApiClient();
        using var audit = await admin.GetFromJsonAsync<JsonDocument>($"/api/v1/audit?actor={owner.Name}");
        var actions = audit!.RootElement.EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Contains("immutable-tag.create", actions);
        Assert.Contains("immutable-tag.delete", actions);
    }

    [Theory]
    [InlineData("{\"pattern\":\"v[1\"}", "without its ']'")]
    [InlineData("{\"pattern\":\"\"}", "pattern is empty")]
    [InlineData("{\"pattern\":\"v 1\"}", "which no tag can hold")]
    [InlineData("{\"pattern\":\"v*\",\"repository\":\"elsewhere/app\"}", "is not in the namespace")]
    [InlineData("{\"pattern\":\"v*\",\"repository\":\"Bad Name\"}", "must match")]
    [InlineData("{\"pattern\":7}", "not valid JSON")]
    public async Task BadRulesAreRefusedAndStoredNowhere(string body, string message)
    {
        var owner = await registry.NewUserAsync();
        using var api = registry.CreateApiClient(owner.Name, owner.Password);

        using var response = await api.PostAsync($"/api/v1/namespaces/{owner.Name}/immutable-tags", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        await PolicyHttp.AssertApiErrorAsync(response, HttpStatusCode.BadRequest, "INVALID", message);
        using var listed = await api.GetFromJsonAsync<JsonDocument>($"/api/v1/namespaces/{owner.Name}/immutable-tags");
        Assert.Equal(0, listed!.RootElement.GetArrayLength());
    }

    [Fact]
    public async Task TheSameRuleTwiceIsAConflict()
    {
        var owner = await registry.NewUserAsync();
        using var api = registry.CreateApiClient(owner.Name, owner.Password);
        await AddRuleAsync(api, owner.Name, "stable");

        using var again = await api.PostAsJsonAsync($"/api/v1/namespaces/{owner.Name}/immutable-tags", new { pattern = "stable" });

        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
    }

    [Fact]
    public async Task StrangersNeitherReadNorAddRulesAndMembersOnlyRead()
    {
        var owner = await registry.NewUserAsync();
        var member = await registry.NewUserAsync();
        var stranger = await registry.NewUserAsync();
        var org = await registry.NewOrganizationAsync(owner);
        await registry.SetMemberAsync(owner, org, member.Name, "maintainer");
        using var ownerApi = registry.CreateApiClient(owner.Name, owner.Password);
        var id = await AddRuleAsync(ownerApi, org, "v*");
        using var memberApi = registry.CreateApiClient(member.Name, member.Password);
        using var strangerApi = registry.CreateApiClient(stranger.Name, stranger.Password);
        var readToken = (await registry.NewPersonalTokenAsync(owner, new { name = "ro", scope = "read" })).GetProperty("token").GetString()!;
        using var tokenApi = registry.CreatePlainClient();
        tokenApi.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", readToken);

        using var strangerReads = await strangerApi.GetAsync($"/api/v1/namespaces/{org}/immutable-tags");
        using var strangerAdds = await strangerApi.PostAsJsonAsync($"/api/v1/namespaces/{org}/immutable-tags", new { pattern = "x*" });
        using var strangerDeletes = await strangerApi.DeleteAsync($"/api/v1/namespaces/{org}/immutable-tags/{id}");
        using var memberReads = await memberApi.GetAsync($"/api/v1/namespaces/{org}/immutable-tags");
        using var memberAdds = await memberApi.PostAsJsonAsync($"/api/v1/namespaces/{org}/immutable-tags", new { pattern = "x*" });
        using var memberDeletes = await memberApi.DeleteAsync($"/api/v1/namespaces/{org}/immutable-tags/{id}");
        using var tokenReads = await tokenApi.GetAsync($"/api/v1/namespaces/{org}/immutable-tags");
        using var tokenAdds = await tokenApi.PostAsJsonAsync($"/api/v1/namespaces/{org}/immutable-tags", new { pattern = "x*" });

        await AssertErrorAsync(strangerReads, HttpStatusCode.NotFound, "NOT_FOUND");
        await AssertErrorAsync(strangerAdds, HttpStatusCode.NotFound, "NOT_FOUND");
        await AssertErrorAsync(strangerDeletes, HttpStatusCode.NotFound, "NOT_FOUND");
        Assert.Equal(HttpStatusCode.OK, memberReads.StatusCode);
        await AssertErrorAsync(memberAdds, HttpStatusCode.Forbidden, "DENIED");
        await AssertErrorAsync(memberDeletes, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal(HttpStatusCode.OK, tokenReads.StatusCode);
        await AssertErrorAsync(tokenAdds, HttpStatusCode.Forbidden, "DENIED");
        using var listed = await ownerApi.GetFromJsonAsync<JsonDocument>($"/api/v1/namespaces/{org}/immutable-tags");
        Assert.Equal(1, listed!.RootElement.GetArrayLength());
    }
}

public sealed class SqliteImmutableTagTests(RegistryFactory registry) : ImmutableTagTests(registry), IClassFixture<RegistryFactory>;

public sealed class PostgresImmutableTagTests(PostgresRegistry fixture) : ImmutableTagTests(fixture.Factory), IClassFixture<PostgresRegistry>;
