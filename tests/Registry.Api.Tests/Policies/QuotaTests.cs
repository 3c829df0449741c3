using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Policies;

/// <summary>Namespace quotas through /v2 pushes and /api/v1, on SQLite (<see cref="SqliteQuotaTests"/>) and PostgreSQL.</summary>
public abstract class QuotaTests(RegistryFactory registry)
{
    protected RegistryFactory Registry => registry;

    private async Task SetQuotaAsync(string ns, long limit)
    {
        using var admin = registry.CreateAdminApiClient();
        using var response = await admin.PutAsJsonAsync($"/api/v1/namespaces/{ns}/quota", new { limitBytes = limit });
        await RegistryAccounts.AssertStatusAsync(response, HttpStatusCode.OK, $"setting the quota of {ns}");
    }

    private static async Task<JsonElement> QuotaAsync(HttpClient api, string ns)
    {
        using var response = await api.GetAsync($"/api/v1/namespaces/{ns}/quota");
        await RegistryAccounts.AssertStatusAsync(response, HttpStatusCode.OK, $"reading the quota of {ns}");
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).Clone();
    }

    [Fact]
    public async Task APushOverTheQuotaIsRefusedAndAcceptedAfterAnImageIsDeleted()
    {
        var alice = await registry.NewUserAsync();
        using var client = registry.CreateClientFor(alice.Name, alice.Password);
        using var api = registry.CreateApiClient(alice.Name, alice.Password);
        var first = await client.PushImageAsync($"{alice.Name}/app", "v1", TestBlob.Random(20_000));
        var used = (await QuotaAsync(api, alice.Name)).GetProperty("usedBytes").GetInt64();
        await SetQuotaAsync(alice.Name, used + 10_000);
        var second = await client.PrepareImageAsync($"{alice.Name}/app", TestBlob.Random(20_000));

        using var refused = await client.PutManifestAsync($"{alice.Name}/app", "v2", second);

        await AssertErrorMessageAsync(refused, HttpStatusCode.Forbidden, "DENIED", $"quota exceeded for namespace {alice.Name}: ");
        Assert.Contains("used of ", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, await client.StatusAsync(HttpMethod.Get, $"/v2/{alice.Name}/app/manifests/{second.Digest}"));
        Assert.Equal(used, (await QuotaAsync(api, alice.Name)).GetProperty("usedBytes").GetInt64());

        using var delete = await client.SendAsync(HttpMethod.Delete, $"/v2/{alice.Name}/app/manifests/{first.Digest}");
        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        Assert.Equal(0, (await QuotaAsync(api, alice.Name)).GetProperty("usedBytes").GetInt64());
        await client.PushManifestAsync($"{alice.Name}/app", "v2", second);
    }

    [Fact]
    public async Task LayersSharedByImagesAndRepositoriesAreCountedOnce()
    {
        var bob = await registry.NewUserAsync();
        using var client = registry.CreateClientFor(bob.Name, bob.Password);
        using var api = registry.CreateApiClient(bob.Name, bob.Password);
        var shared = TestBlob.Random(30_000);
        var own = TestBlob.Random(5_000);
        var configA = TestBlob.Config();
        var configB = TestBlob.Config();
        await client.PushBlobsAsync($"{bob.Name}/a", configA, shared);
        await client.PushBlobsAsync($"{bob.Name}/b", configB, shared, own);
        var a = Manifests.OciImage(configA, shared);
        var b = Manifests.OciImage(configB, shared, own);
        await client.PushManifestAsync($"{bob.Name}/a", "v1", a);
        await client.PushManifestAsync($"{bob.Name}/b", "v1", b);
        await client.PushBlobAsync($"{bob.Name}/b", TestBlob.Random(40_000)); // uploaded, in no manifest

        var quota = await QuotaAsync(api, bob.Name);
        using var repository = await api.GetAsync($"/api/v1/repositories/{bob.Name}/b");
        using var repositoryJson = await ReadJsonAsync(repository);

        var sizeOfA = PolicyHttp.SizeOf(a, configA, shared);
        var sizeOfB = PolicyHttp.SizeOf(b, configB, shared, own);
        Assert.Equal(sizeOfA + sizeOfB - shared.Size, quota.GetProperty("usedBytes").GetInt64());
        Assert.Equal(JsonValueKind.Null, quota.GetProperty("limitBytes").ValueKind);
        Assert.Equal(bob.Name, quota.GetProperty("namespace").GetString());
        var repositories = quota.GetProperty("repositories").EnumerateArray()
            .Select(r => (r.GetProperty("name").GetString(), r.GetProperty("usedBytes").GetInt64())).ToList();
        Assert.Equal([($"{bob.Name}/a", sizeOfA), ($"{bob.Name}/b", sizeOfB)], repositories);
        Assert.Equal(sizeOfB, repositoryJson.RootElement.GetProperty("usedBytes").GetInt64());
    }

    [Fact]
    public async Task AtTheLimitARetagAndAnImageOfKnownLayersAreAccepted()
    {
        var carol = await registry.NewUserAsync();
        using var client = registry.CreateClientFor(carol.Name, carol.Password);
        using var api = registry.CreateApiClient(carol.Name, carol.Password);
        var layer = TestBlob.Random(10_000);
        var image = await client.PushImageAsync($"{carol.Name}/app", "v1", layer);
        await SetQuotaAsync(carol.Name, (await QuotaAsync(api, carol.Name)).GetProperty("usedBytes").GetInt64());

        await client.PushManifestAsync($"{carol.Name}/app", "latest", image);
        await client.PushManifestAsync($"{carol.Name}/copy", "v1", await CopyAsync(client, $"{carol.Name}/app", $"{carol.Name}/copy", image));
        var bigger = await client.PrepareImageAsync($"{carol.Name}/app", TestBlob.Random(1_000));
        using var refused = await client.PutManifestAsync($"{carol.Name}/app", "v2", bigger);

        await AssertErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED");
        var quota = await QuotaAsync(api, carol.Name);
        Assert.Equal(quota.GetProperty("limitBytes").GetInt64(), quota.GetProperty("usedBytes").GetInt64());
    }

    /// <summary>Mounts the image's blobs into another repository of the namespace and returns the same manifest.</summary>
    private static async Task<TestManifest> CopyAsync(HttpClient client, string from, string to, TestManifest image)
    {
        using var json = JsonDocument.Parse(image.Content);
        var digests = json.RootElement.GetProperty("layers").EnumerateArray().Select(l => l.GetProperty("digest").GetString())
            .Append(json.RootElement.GetProperty("config").GetProperty("digest").GetString());
        foreach (var digest in digests)
        {
            using var mount = await client.SendAsync(HttpMethod.Post, $"/v2/{to}/blobs/uploads/?mount={digest}&from={from}");
            Assert.Equal(HttpStatusCode.Created, mount.StatusCode);
        }

        return image;
    }

    [Fact]
    public async Task ARefusedPushLeavesNoManifestAndNoTag()
    {
        var dave = await registry.NewUserAsync();
        using var client = registry.CreateClientFor(dave.Name, dave.Password);
        using var api = registry.CreateApiClient(dave.Name, dave.Password);
        await SetQuotaAsync(dave.Name, 1_000);
        var image = await client.PrepareImageAsync($"{dave.Name}/new", TestBlob.Random(5_000));

        using var refused = await client.PutManifestAsync($"{dave.Name}/new", "v1", image);
        using var byDigest = await client.GetAsync($"/v2/{dave.Name}/new/manifests/{image.Digest}");
        using var tags = await client.GetAsync($"/v2/{dave.Name}/new/tags/list");
        using var tagsJson = await ReadJsonAsync(tags);
        using var repository = await api.GetAsync($"/api/v1/repositories/{dave.Name}/new");

        await AssertErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal(HttpStatusCode.NotFound, byDigest.StatusCode);
        Assert.Empty(tagsJson.RootElement.GetProperty("tags").EnumerateArray());
        Assert.Equal(HttpStatusCode.NotFound, repository.StatusCode); // it holds blobs only: not listed until a manifest arrives
        Assert.Equal(0, (await QuotaAsync(api, dave.Name)).GetProperty("usedBytes").GetInt64());
    }

    [Theory]
    [InlineData("{\"limitBytes\":-5}", "positive")]
    [InlineData("{\"limitBytes\":0}", "positive")]
    [InlineData("{\"limitBytes\":\"10GB\"}", "must be a number")]
    [InlineData("{\"limitBytes\":1.5}", "whole number")]
    [InlineData("{\"limitBytes\":1e40}", "at most")]
    [InlineData("{\"limitBytes\":99999999999999999999}", "at most")]
    [InlineData("{}", "must be a number")]
    [InlineData("{\"limitBytes\":", "not valid JSON")]
    public async Task BadLimitsAreRefusedAndChangeNothing(string body, string message)
    {
        var erin = await registry.NewUserAsync();
        using var admin = registry.CreateAdminApiClient();

        using var response = await admin.PutAsync($"/api/v1/namespaces/{erin.Name}/quota", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        await PolicyHttp.AssertApiErrorAsync(response, HttpStatusCode.BadRequest, "INVALID", message);
        Assert.Equal(JsonValueKind.Null, (await QuotaAsync(admin, erin.Name)).GetProperty("limitBytes").ValueKind);
    }

    [Fact]
    public async Task AnUnknownNamespaceIsNotFound()
    {
        using var admin = registry.CreateAdminApiClient();
        var ghost = RegistryAccounts.UniqueName("ghost");

        using var read = await admin.GetAsync($"/api/v1/namespaces/{ghost}/quota");
        using var set = await admin.PutAsJsonAsync($"/api/v1/namespaces/{ghost}/quota", new { limitBytes = 1000 });
        using var rules = await admin.GetAsync($"/api/v1/namespaces/{ghost}/immutable-tags");

        Assert.Equal(HttpStatusCode.NotFound, read.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, set.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, rules.StatusCode);
    }

    [Fact]
    public async Task OnlyAdministratorsSetQuotasAndMembersReadThem()
    {
        var owner = await registry.NewUserAsync();
        var member = await registry.NewUserAsync();
        var stranger = await registry.NewUserAsync();
        var org = await registry.NewOrganizationAsync(owner);
        await registry.SetMemberAsync(owner, org, member.Name, "member");
        using var ownerApi = registry.CreateApiClient(owner.Name, owner.Password);
        using var memberApi = registry.CreateApiClient(member.Name, member.Password);
        using var strangerApi = registry.CreateApiClient(stranger.Name, stranger.Password);
        using var admin = registry.CreateAdminApiClient();

        using var ownerSets = await ownerApi.PutAsJsonAsync($"/api/v1/namespaces/{org}/quota", new { limitBytes = 1_000_000_000 });
        using var ownerSetsOwn = await ownerApi.PutAsJsonAsync($"/api/v1/namespaces/{owner.Name}/quota", new { limitBytes = 1_000_000_000 });
        using var adminSets = await admin.PutAsJsonAsync($"/api/v1/namespaces/{org}/quota", new { limitBytes = 5_000_000 });
        using var ownerDeletes = await ownerApi.DeleteAsync($"/api/v1/namespaces/{org}/quota");
        using var strangerReads = await strangerApi.GetAsync($"/api/v1/namespaces/{org}/quota");
        var memberSees = await QuotaAsync(memberApi, org);

        await AssertErrorMessageAsync(ownerSets, HttpStatusCode.Forbidden, "DENIED", "only registry administrators may set quotas");
        await AssertErrorAsync(ownerSetsOwn, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal(HttpStatusCode.OK, adminSets.StatusCode);
        await AssertErrorAsync(ownerDeletes, HttpStatusCode.Forbidden, "DENIED");
        await AssertErrorAsync(strangerReads, HttpStatusCode.NotFound, "NOT_FOUND");
        Assert.Equal(5_000_000, memberSees.GetProperty("limitBytes").GetInt64());

        using var audit = await admin.GetFromJsonAsync<JsonDocument>($"/api/v1/audit?action=quota.set&actor={RegistryFactory.Admin}");
        Assert.Contains(audit!.RootElement.EnumerateArray(), e => e.GetProperty("target").GetString() == org && e.GetProperty("detail").GetString() == "limitBytes=5000000");
        using var removed = await admin.DeleteAsync($"/api/v1/namespaces/{org}/quota");
        Assert.Equal(HttpStatusCode.NoContent, removed.StatusCode);
        Assert.Equal(JsonValueKind.Null, (await QuotaAsync(memberApi, org)).GetProperty("limitBytes").ValueKind);
    }
}

public sealed class SqliteQuotaTests(RegistryFactory registry) : QuotaTests(registry), IClassFixture<RegistryFactory>;

public sealed class PostgresQuotaTests(PostgresRegistry fixture) : QuotaTests(fixture.Factory), IClassFixture<PostgresRegistry>;
