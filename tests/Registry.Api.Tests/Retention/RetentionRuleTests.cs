using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Retention.RetentionHttp;

namespace Registry.Api.Tests.Retention;

/// <summary>What a run deletes and keeps, with real pushes and pulls through /v2 and tag times set in the database.</summary>
public sealed class RetentionRuleTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private readonly HttpClient _registry = registry.CreateRegistryClient();
    private readonly HttpClient _api = registry.CreateAdminApiClient();

    [Fact]
    public async Task KeepMostRecentKeepsExactlyTheNNewestTagsAndDeletesTheOthersManifests()
    {
        var repository = NewRepository();
        var pushed = await registry.PushAgedTagsAsync(_registry, repository,
            ("a", TimeSpan.FromHours(1)), ("b", TimeSpan.FromHours(5)), ("c", TimeSpan.FromHours(2)), ("d", TimeSpan.FromHours(4)), ("e", TimeSpan.FromHours(3)));
        var id = await _api.CreatePolicyAsync(Namespace(repository), new { keepMostRecent = 3 });

        var report = await _api.RunPolicyAsync(Namespace(repository), id, dryRun: false);

        Assert.Equal(["b", "d"], DeletedTags(report));
        Assert.Equal(["a", "c", "e"], await _registry.TagsAsync(repository));
        Assert.Equal(3, report.GetProperty("kept").GetInt32());
        Assert.Equal(1, report.GetProperty("repositories").GetInt32());
        Assert.Equal(new[] { pushed["b"].Digest, pushed["d"].Digest }.Order(StringComparer.Ordinal), DeletedManifests(report));
        Assert.Equal(HttpStatusCode.NotFound, await _registry.ManifestStatusAsync(repository, pushed["b"].Digest));
        Assert.Equal(HttpStatusCode.OK, await _registry.ManifestStatusAsync(repository, pushed["a"].Digest));
    }

    [Fact]
    public async Task KeepMostRecentAndYoungerThanKeepOnlyTagsThatSatisfyBoth()
    {
        var repository = NewRepository();
        await registry.PushAgedTagsAsync(_registry, repository,
            ("h10", TimeSpan.FromHours(10)), ("h50", TimeSpan.FromHours(50)), ("h150", TimeSpan.FromHours(150)),
            ("h200", TimeSpan.FromHours(200)), ("h300", TimeSpan.FromHours(300)));
        var id = await _api.CreatePolicyAsync(Namespace(repository), new { keepMostRecent = 3, keepYoungerThan = "100h" });

        var report = await _api.RunPolicyAsync(Namespace(repository), id, dryRun: false);

        Assert.Equal(["h150", "h200", "h300"], DeletedTags(report));
        Assert.Equal(["h10", "h50"], await _registry.TagsAsync(repository));
    }

    [Fact]
    public async Task ThePatternLimitsWhichTagsArePrunedInEveryRepositoryOfTheNamespace()
    {
        var repository = NewRepository();
        var other = Namespace(repository) + "/other";
        await registry.PushAgedTagsAsync(_registry, repository,
            ("release-1", TimeSpan.FromDays(3)), ("release-2", TimeSpan.FromDays(2)), ("release-3", TimeSpan.FromDays(1)),
            ("dev-1", TimeSpan.FromDays(9)), ("dev-2", TimeSpan.FromDays(8)));
        await registry.PushAgedTagsAsync(_registry, other, ("release-7", TimeSpan.FromDays(5)), ("release-8", TimeSpan.FromDays(4)), ("latest", TimeSpan.FromDays(30)));
        var id = await _api.CreatePolicyAsync(Namespace(repository), new { tagPattern = "release-[0-9]*", keepMostRecent = 1 });

        var report = await _api.RunPolicyAsync(Namespace(repository), id, dryRun: false);

        Assert.Equal(["release-1", "release-2", "release-7"], DeletedTags(report));
        Assert.Equal(["dev-1", "dev-2", "release-3"], await _registry.TagsAsync(repository));
        Assert.Equal(["latest", "release-8"], await _registry.TagsAsync(other));
        Assert.Equal(2, report.GetProperty("repositories").GetInt32());
    }

    [Fact]
    public async Task APolicyForOneRepositoryLeavesTheNamespacesOtherRepositoriesAlone()
    {
        var repository = NewRepository();
        var other = Namespace(repository) + "/other";
        await registry.PushAgedTagsAsync(_registry, repository, ("a", TimeSpan.FromDays(2)), ("b", TimeSpan.FromDays(1)));
        await registry.PushAgedTagsAsync(_registry, other, ("a", TimeSpan.FromDays(2)), ("b", TimeSpan.FromDays(1)));
        var id = await _api.CreatePolicyAsync(Namespace(repository), new { repository, keepMostRecent = 1 });

        await _api.RunPolicyAsync(Namespace(repository), id, dryRun: false);

        Assert.Equal(["b"], await _registry.TagsAsync(repository));
        Assert.Equal(["a", "b"], await _registry.TagsAsync(other));
    }

    [Fact]
    public async Task UntaggedOlderThanDeletesOnlyOldUntaggedManifests()
    {
        var repository = NewRepository();
        var tagged = await registry.PushAgedTagsAsync(_registry, repository, ("kept", TimeSpan.FromDays(30)));
        var old = await PushUntaggedAsync(repository);
        var recent = await PushUntaggedAsync(repository);
        await registry.SetManifestTimesAsync(repository, old.Digest, createdAt: DateTime.UtcNow - TimeSpan.FromDays(10));
        await registry.SetManifestTimesAsync(repository, tagged["kept"].Digest, createdAt: DateTime.UtcNow - TimeSpan.FromDays(30));
        var id = await _api.CreatePolicyAsync(Namespace(repository), new { untaggedOlderThan = "7d" });

        var report = await _api.RunPolicyAsync(Namespace(repository), id, dryRun: false);

        Assert.Equal([old.Digest], DeletedManifests(report));
        Assert.Empty(DeletedTags(report));
        Assert.Equal(HttpStatusCode.NotFound, await _registry.ManifestStatusAsync(repository, old.Digest));
        Assert.Equal(HttpStatusCode.OK, await _registry.ManifestStatusAsync(repository, recent.Digest));
        Assert.Equal(["kept"], await _registry.TagsAsync(repository));
    }

    [Fact]
    public async Task ADryRunDeletesNothingAndReportsExactlyWhatTheRealRunThenDeletes()
    {
        var repository = NewRepository();
        await registry.PushAgedTagsAsync(_registry, repository,
            ("a", TimeSpan.FromHours(1)), ("b", TimeSpan.FromHours(20)), ("c", TimeSpan.FromHours(30)), ("d", TimeSpan.FromHours(40)));
        var untagged = await PushUntaggedAsync(repository);
        await registry.SetManifestTimesAsync(repository, untagged.Digest, createdAt: DateTime.UtcNow - TimeSpan.FromDays(3));
        var ns = Namespace(repository);
        var id = await _api.CreatePolicyAsync(ns, new { keepMostRecent = 2, untaggedOlderThan = "1d" });

        var dry = await _api.RunPolicyAsync(ns, id, dryRun: true);
        var tagsAfterDryRun = await _registry.TagsAsync(repository);
        var untaggedAfterDryRun = await _registry.ManifestStatusAsync(repository, untagged.Digest);
        var real = await _api.RunPolicyAsync(ns, id, dryRun: false);
        using var runs = await _api.GetAsync($"{PoliciesUrl(ns)}/{id}/runs");
        var stored = await runs.Content.ReadFromJsonAsync<JsonElement>();

        Assert.True(dry.GetProperty("dryRun").GetBoolean());
        Assert.Equal(["c", "d"], DeletedTags(dry));
        Assert.Equal(3, DeletedManifests(dry).Count);
        Assert.Equal(["a", "b", "c", "d"], tagsAfterDryRun);
        Assert.Equal(HttpStatusCode.OK, untaggedAfterDryRun);
        Assert.False(real.GetProperty("dryRun").GetBoolean());
        Assert.Equal(DeletedTags(dry), DeletedTags(real));
        Assert.Equal(DeletedManifests(dry), DeletedManifests(real));
        Assert.Equal(["a", "b"], await _registry.TagsAsync(repository));
        var run = Assert.Single(stored.EnumerateArray()); // dry runs are not stored
        Assert.Equal(DeletedTags(real), DeletedTags(run));
        var audit = await _api.GetFromJsonAsync<JsonElement>("/api/v1/audit?action=retention-policy.run&limit=500");
        Assert.Equal(2, audit.EnumerateArray().Count(e => e.GetProperty("target").GetString() == $"{ns}/retention-policies/{id}"));
    }

    private async Task<TestManifest> PushUntaggedAsync(string repository)
    {
        var config = TestBlob.Config();
        await _registry.PushBlobAsync(repository, config);
        var manifest = Manifests.OciImage(config);
        await _registry.PushManifestAsync(repository, manifest.Digest, manifest);
        return manifest;
    }
}
