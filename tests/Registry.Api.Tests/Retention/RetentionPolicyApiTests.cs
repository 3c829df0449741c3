using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Retention.RetentionHttp;

namespace Registry.Api.Tests.Retention;

/// <summary>Managing policies through /api/v1: validation, who may, and the audit log.</summary>
public sealed class RetentionPolicyApiTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    public static TheoryData<string, string> InvalidPolicies => new()
    {
        { """{"keepMostRecent":0}""", "keepMostRecent" },
        { """{"keepMostRecent":-3}""", "keepMostRecent" },
        { """{"keepYoungerThan":"100 hours"}""", "keepYoungerThan" },
        { """{"keepPulledWithin":"0d"}""", "keepPulledWithin" },
        { """{"untaggedOlderThan":"7y"}""", "untaggedOlderThan" },
        { """{"keepMostRecent":3,"tagPattern":"release-[0-9"}""", "tagPattern" },
        { """{"keepMostRecent":3,"tagPattern":"v1/*"}""", "tagPattern" },
        { """{"keepMostRecent":3,"repository":"elsewhere/app"}""", "repository" },
        { """{"tagPattern":"*"}""", "no rule" },
        { """{"keepMostRecent":3,"schedule":"monthly"}""", "schedule" },
        { """{"keepMostRecent":"three"}""", "JSON" },
    };

    [Theory]
    [MemberData(nameof(InvalidPolicies))]
    public async Task AnInvalidPolicyIsRefusedWithTheFieldNamedAndNothingIsStored(string body, string named)
    {
        var owner = await registry.NewUserAsync();
        using var api = registry.CreateApiClient(owner.Name, owner.Password);

        using var response = await api.PostAsync(PoliciesUrl(owner.Name), new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var list = await api.GetFromJsonAsync<JsonElement>(PoliciesUrl(owner.Name));

        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        using var json = JsonDocument.Parse(text);
        Assert.Equal("INVALID", json.RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
        Assert.Contains(named, json.RootElement.GetProperty("errors")[0].GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(list.EnumerateArray());
    }

    [Fact]
    public async Task ARunNeedsDryRunSaid()
    {
        var owner = await registry.NewUserAsync();
        using var api = registry.CreateApiClient(owner.Name, owner.Password);
        var id = await api.CreatePolicyAsync(owner.Name, new { keepMostRecent = 1 });

        using var response = await api.PostAsJsonAsync($"{PoliciesUrl(owner.Name)}/{id}/run", new { });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task AnOwnerCreatesReadsReplacesAndDeletesAPolicyAndEachChangeIsAudited()
    {
        var owner = await registry.NewUserAsync();
        var org = await registry.NewOrganizationAsync(owner);
        using var api = registry.CreateApiClient(owner.Name, owner.Password);

        var id = await api.CreatePolicyAsync(org, new { repository = $"{org}/app", tagPattern = "v*", keepMostRecent = 5, schedule = "daily" });
        var created = await api.GetFromJsonAsync<JsonElement>($"{PoliciesUrl(org)}/{id}");
        using var put = await api.PutAsJsonAsync($"{PoliciesUrl(org)}/{id}", new { keepYoungerThan = "2w", enabled = false });
        var replaced = await put.Content.ReadFromJsonAsync<JsonElement>();
        using var deleted = await api.DeleteAsync($"{PoliciesUrl(org)}/{id}");
        using var gone = await api.GetAsync($"{PoliciesUrl(org)}/{id}");

        Assert.Equal($"{org}/app", created.GetProperty("repository").GetString());
        Assert.Equal("v*", created.GetProperty("tagPattern").GetString());
        Assert.Equal("daily", created.GetProperty("schedule").GetString());
        Assert.True(created.GetProperty("enabled").GetBoolean());
        Assert.Equal(JsonValueKind.String, created.GetProperty("nextRunAt").ValueKind);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal("2w", replaced.GetProperty("keepYoungerThan").GetString());
        Assert.Equal(JsonValueKind.Null, replaced.GetProperty("keepMostRecent").ValueKind);
        Assert.Equal(JsonValueKind.Null, replaced.GetProperty("repository").ValueKind);
        Assert.Equal("*", replaced.GetProperty("tagPattern").GetString());
        Assert.False(replaced.GetProperty("enabled").GetBoolean());
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        using var admin = registry.CreateAdminApiClient();
        var audit = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/audit?actor={owner.Name}&limit=100");
        var actions = audit.EnumerateArray().Where(e => e.GetProperty("target").GetString() == $"{org}/retention-policies/{id}")
            .Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.Equal(["retention-policy.delete", "retention-policy.update", "retention-policy.create"], actions);
    }

    [Fact]
    public async Task OnlyThoseWhoAdministerTheNamespaceReachItsPolicies()
    {
        var owner = await registry.NewUserAsync();
        var org = await registry.NewOrganizationAsync(owner);
        var maintainer = await registry.NewUserAsync();
        var member = await registry.NewUserAsync();
        var stranger = await registry.NewUserAsync();
        await registry.SetMemberAsync(owner, org, maintainer.Name, "maintainer");
        await registry.SetMemberAsync(owner, org, member.Name, "member");
        using var ownerApi = registry.CreateApiClient(owner.Name, owner.Password);
        var id = await ownerApi.CreatePolicyAsync(org, new { keepMostRecent = 1 });
        var limited = await registry.NewPersonalTokenAsync(owner, new { name = "rw", scope = "read-write" });
        var otherNamespace = await registry.NewOrganizationAsync(stranger);

        var routes = new (HttpMethod Method, string Url, object? Body)[]
        {
            (HttpMethod.Get, PoliciesUrl(org), null),
            (HttpMethod.Post, PoliciesUrl(org), new { keepMostRecent = 2 }),
            (HttpMethod.Get, $"{PoliciesUrl(org)}/{id}", null),
            (HttpMethod.Put, $"{PoliciesUrl(org)}/{id}", new { keepMostRecent = 2 }),
            (HttpMethod.Post, $"{PoliciesUrl(org)}/{id}/run", new { dryRun = true }),
            (HttpMethod.Get, $"{PoliciesUrl(org)}/{id}/runs", null),
            (HttpMethod.Delete, $"{PoliciesUrl(org)}/{id}", null),
        };
        foreach (var (who, password, expected) in new[]
        {
            (maintainer.Name, maintainer.Password, HttpStatusCode.Forbidden),
            (member.Name, member.Password, HttpStatusCode.Forbidden),
            (stranger.Name, stranger.Password, HttpStatusCode.NotFound),
            (owner.Name, limited.GetProperty("token").GetString()!, HttpStatusCode.Forbidden),
        })
        {
            using var client = registry.CreateApiClient(who, password);
            foreach (var (method, url, body) in routes)
            {
                using var request = new HttpRequestMessage(method, url) { Content = body is null ? null : JsonContent.Create(body) };
                using var response = await client.SendAsync(request);
                Assert.True(expected == response.StatusCode, $"{who} {method} {url}: {(int)response.StatusCode}");
            }
        }

        using var anonymous = await registry.CreatePlainClient().GetAsync(PoliciesUrl(org));
        using var strangersOwn = registry.CreateApiClient(stranger.Name, stranger.Password);
        using var crossNamespace = await strangersOwn.GetAsync($"{PoliciesUrl(otherNamespace)}/{id}");
        var stillThere = await ownerApi.GetFromJsonAsync<JsonElement>($"{PoliciesUrl(org)}/{id}");

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, crossNamespace.StatusCode);
        Assert.Equal(1, stillThere.GetProperty("keepMostRecent").GetInt32());
        Assert.Single(await ownerApi.GetFromJsonAsync<JsonElement[]>(PoliciesUrl(org)) ?? []);
    }
}
