using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core;
using Registry.Storage.Metadata;
using Registry.Storage.Policies;
using Registry.Storage.Services;

namespace Registry.Storage.Tests;

/// <summary>Namespace quotas and immutable tags, on every provider.</summary>
public abstract partial class StorageContractTests
{
    private Task<long> NamespaceUsageAsync(string ns) => InScope(sp => sp.GetRequiredService<NamespaceUsage>().OfNamespaceAsync(ns, default));

    private Task SetQuotaAsync(string ns, long limit) => InScope(sp => sp.GetRequiredService<PolicyService>().SetQuotaAsync(ns, limit, "admin", default));

    private Task<ImmutableTagRuleEntity> AddRuleAsync(string ns, string pattern, string? repository = null) =>
        InScope(sp => sp.GetRequiredService<PolicyService>().AddRuleAsync(ns, pattern, repository, "owner", default));

    private Task<bool> DeleteManifestAsync(string repository, string reference) =>
        InScope(sp => sp.GetRequiredService<ManifestService>().DeleteAsync(repository, Reference(reference), author: null, default));

    private Task<int> CountAsync(Func<RegistryDbContext, Task<int>> count) => InScope(sp => count(sp.GetRequiredService<RegistryDbContext>()));

    private static string ImageJson(Digest config, int configSize, params (Digest Digest, int Size)[] layers) =>
        $"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciManifest}\",\"config\":{{\"mediaType\":\"{MediaTypes.OciConfig}\",\"digest\":\"{config}\",\"size\":{configSize}}},\"layers\":[" +
        string.Join(',', layers.Select(l => $"{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{l.Digest}\",\"size\":{l.Size}}}")) + "]}";

    [Fact]
    public async Task Usage_counts_each_blob_once_per_namespace_and_every_distinct_manifest()
    {
        var shared = RandomBytes(10_000);
        var own = RandomBytes(3_000);
        var configA = Utf8("{\"os\":\"linux\",\"a\":1}");
        var configB = Utf8("{\"os\":\"linux\",\"b\":22}");
        var sharedA = await PushBlobAsync("usage/a", shared);
        var cA = await PushBlobAsync("usage/a", configA);
        var sharedB = await PushBlobAsync("usage/b", shared);
        var ownB = await PushBlobAsync("usage/b", own);
        var cB = await PushBlobAsync("usage/b", configB);
        await PushBlobAsync("usage/b", configA);
        await PushBlobAsync("usage/b", RandomBytes(50_000)); // uploaded, never referenced: not counted
        var jsonA = ImageJson(cA, configA.Length, (sharedA, shared.Length));
        var jsonB = ImageJson(cB, configB.Length, (sharedB, shared.Length), (ownB, own.Length));

        await PutAsync("usage/a", "v1", jsonA);
        await PutAsync("usage/a", "v2", jsonA); // a second tag adds nothing
        await PutAsync("usage/b", "v1", jsonB);
        await PutAsync("usage/b", "copy", jsonA.Replace("\"size\":10000", "\"size\":10000 ", StringComparison.Ordinal)); // another manifest, same blobs: its payload only

        var payloads = Utf8(jsonA).Length + Utf8(jsonB).Length + Utf8(jsonA).Length + 1;
        Assert.Equal(shared.Length + own.Length + configA.Length + configB.Length + payloads, await NamespaceUsageAsync("usage"));
        var repositories = await InScope(sp => sp.GetRequiredService<NamespaceUsage>().OfRepositoriesAsync("usage", default));
        Assert.Equal(["usage/a", "usage/b"], repositories.Select(r => r.Name));
        Assert.Equal(shared.Length + configA.Length + Utf8(jsonA).Length, repositories[0].UsedBytes);
        Assert.Equal(repositories[1].UsedBytes, await InScope(sp => sp.GetRequiredService<NamespaceUsage>().OfRepositoryAsync("usage/b", default)));
        Assert.Equal(0, await NamespaceUsageAsync("nothing"));
    }

    [Fact]
    public async Task A_push_over_the_quota_is_refused_leaving_nothing_and_accepted_after_a_delete()
    {
        var (first, _, _) = await ImageManifestAsync("quota/app");
        var pushed = await PutAsync("quota/app", "v1", first);
        var used = await NamespaceUsageAsync("quota");
        await SetQuotaAsync("quota", used + 500);
        var (second, _, _) = await ImageManifestAsync("quota/other");

        var refused = await Assert.ThrowsAsync<RegistryException>(() => PutAsync("quota/other", "v1", second));

        Assert.Equal(ErrorCode.Denied.Code, refused.Error.Code);
        Assert.Equal(403, refused.Error.Status);
        Assert.StartsWith("quota exceeded for namespace quota: ", refused.Message, StringComparison.Ordinal);
        Assert.Contains("this push adds 1.", refused.Message, StringComparison.Ordinal);
        Assert.Null(await GetAsync("quota/other", "v1"));
        Assert.Equal(1, await CountAsync(db => db.Manifests.CountAsync()));
        Assert.Equal(1, await CountAsync(db => db.Tags.CountAsync()));
        Assert.Equal(used, await NamespaceUsageAsync("quota"));

        Assert.True(await DeleteManifestAsync("quota/app", pushed.Digest.ToString()));
        Assert.Equal(0, await NamespaceUsageAsync("quota"));
        await PutAsync("quota/other", "v1", second);
        Assert.NotNull(await GetAsync("quota/other", "v1"));
    }

    [Fact]
    public async Task At_the_limit_a_push_of_content_the_namespace_holds_is_accepted()
    {
        var (json, _, _) = await ImageManifestAsync("full/app");
        await PutAsync("full/app", "v1", json);
        await SetQuotaAsync("full", await NamespaceUsageAsync("full"));

        await PutAsync("full/app", "latest", json); // a retag
        await PutAsync("full/app", "v1", json); // the same push again

        Assert.NotNull(await GetAsync("full/app", "latest"));
        var (other, _, _) = await ImageManifestAsync("full/app");
        await Assert.ThrowsAsync<RegistryException>(() => PutAsync("full/app", "v2", other));
    }

    [Fact]
    public async Task An_immutable_tag_is_neither_moved_nor_deleted_but_new_tags_are_pushed()
    {
        await AddRuleAsync("locked", "v*");
        var (first, _, _) = await ImageManifestAsync("locked/app");
        var (second, _, _) = await ImageManifestAsync("locked/app");
        var pushed = await PutAsync("locked/app", "v1", first);

        var moved = await Assert.ThrowsAsync<RegistryException>(() => PutAsync("locked/app", "v1", second));
        await PutAsync("locked/app", "v1", first); // the same manifest again
        await PutAsync("locked/app", "v2", second);
        await PutAsync("locked/app", "latest", second);
        await PutAsync("locked/app", "latest", first); // not protected: moves
        var deleteTag = await Assert.ThrowsAsync<RegistryException>(() => DeleteManifestAsync("locked/app", "v1"));
        var deleteDigest = await Assert.ThrowsAsync<RegistryException>(() => DeleteManifestAsync("locked/app", pushed.Digest.ToString()));

        Assert.Equal("tag v1 of locked/app is immutable (rule \"v*\"); push a new tag", moved.Message);
        Assert.Equal(403, moved.Error.Status);
        Assert.Equal(pushed.Digest.ToString(), (await GetAsync("locked/app", "v1"))!.Digest);
        Assert.Equal("DENIED", deleteTag.Error.Code);
        Assert.Contains("carries the immutable tag v1", deleteDigest.Message, StringComparison.Ordinal);
        Assert.NotNull(await GetAsync("locked/app", pushed.Digest.ToString()));
        Assert.True(await DeleteManifestAsync("locked/app", "latest"));
    }

    [Fact]
    public async Task A_rule_for_one_repository_leaves_the_others_of_the_namespace_alone()
    {
        await AddRuleAsync("scoped", "release-[0-9]*", "scoped/app");
        var (first, _, _) = await ImageManifestAsync("scoped/app");
        var (second, _, _) = await ImageManifestAsync("scoped/app");
        var (third, _, _) = await ImageManifestAsync("scoped/tool");
        var (fourth, _, _) = await ImageManifestAsync("scoped/tool");
        await PutAsync("scoped/app", "release-1", first);
        await PutAsync("scoped/tool", "release-1", third);

        await Assert.ThrowsAsync<RegistryException>(() => PutAsync("scoped/app", "release-1", second));
        await PutAsync("scoped/tool", "release-1", fourth);
        await PutAsync("scoped/app", "release-x", first);
        await PutAsync("scoped/app", "release-x", second);
    }

    [Fact]
    public async Task Concurrent_first_pushes_of_an_immutable_tag_leave_it_on_one_manifest()
    {
        await AddRuleAsync("race", "*");
        var manifests = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            manifests.Add((await ImageManifestAsync("race/app")).Json);
        }

        var outcomes = await Task.WhenAll(manifests.Select(async json =>
        {
            try
            {
                return (await PutAsync("race/app", "v1", json)).Digest.ToString();
            }
            catch (RegistryException e) when (e.Error.Code == "DENIED")
            {
                return null;
            }
        }));

        var winner = Assert.Single(outcomes, o => o is not null);
        Assert.Equal(winner, (await GetAsync("race/app", "v1"))!.Digest);
    }

    [Theory]
    [InlineData("", "pattern is empty")]
    [InlineData("v[0-9", "without its ']'")]
    [InlineData("v]", "without its '['")]
    [InlineData("v/1", "which no tag can hold")]
    [InlineData("[z-a]", "backwards")]
    [InlineData("[]", "lists no characters")]
    public async Task Bad_patterns_are_refused_and_stored_nowhere(string pattern, string message)
    {
        var e = await Assert.ThrowsAsync<PolicyException>(() => AddRuleAsync("bad", pattern));

        Assert.Equal(PolicyError.Invalid, e.Error);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Equal(0, await CountAsync(db => db.ImmutableTagRules.CountAsync()));
    }

    [Theory]
    [InlineData("v*", "v1.0", true)]
    [InlineData("v*", "latest-v1", false)]
    [InlineData("v?.0", "v1.0", true)]
    [InlineData("v?.0", "v10.0", false)]
    [InlineData("[0-9]*", "1.2.3", true)]
    [InlineData("[!0-9]*", "1.2.3", false)]
    [InlineData("[!0-9]*", "stable", true)]
    [InlineData("release-[a-c_]", "release-_", true)]
    [InlineData("1.0", "1x0", false)]
    [InlineData("Stable", "stable", false)]
    public void Tag_patterns_match_whole_tags(string pattern, string tag, bool matches) =>
        Assert.Equal(matches, TagPattern.Parse(pattern).Matches(tag));
}
