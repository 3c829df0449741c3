using Microsoft.Extensions.DependencyInjection;
using Registry.Core;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Storage.Tests;

// What the web UI reads: tags with platforms, sizes and pushers, repositories by last push, one manifest in detail.
public abstract partial class StorageContractTests
{
    private Task<(IReadOnlyList<TagSummary> Items, int Total)> TagsAsync(string repository, string? filter, TagSort sort, int page, int pageSize) =>
        InScope(sp => sp.GetRequiredService<RepositoryContentService>().ListTagsAsync(repository, filter, sort, page, pageSize, default));

    [Fact]
    public async Task Tags_are_paged_filtered_and_sorted_with_platform_size_and_pusher()
    {
        var (json, _, _) = await ImageManifestAsync("ui/tags");
        foreach (var tag in new[] { "v1", "v2", "v10", "latest", "dev-1" })
        {
            await InScope(sp => sp.GetRequiredService<ManifestService>().PutAsync(
                "ui/tags", Reference(tag), Utf8(json), MediaTypes.OciManifest, new ChangeAuthor("alice", "127.0.0.1"), default));
            Host.Time.Advance(TimeSpan.FromSeconds(1));
        }

        var (byName, total) = await TagsAsync("ui/tags", null, TagSort.Name, 1, 3);
        Assert.Equal(5, total);
        Assert.Equal(["dev-1", "latest", "v1"], byName.Select(t => t.Name));
        var first = byName[0];
        Assert.Equal(["linux/amd64"], first.Platforms);
        Assert.True(first.Size > 1000);
        Assert.Equal("alice", first.PushedBy);

        var (secondPage, _) = await TagsAsync("ui/tags", null, TagSort.Name, 2, 3);
        Assert.Equal(["v10", "v2"], secondPage.Select(t => t.Name));

        var (filtered, filteredTotal) = await TagsAsync("ui/tags", "v1", TagSort.Name, 1, 10);
        Assert.Equal(2, filteredTotal);
        Assert.Equal(["v1", "v10"], filtered.Select(t => t.Name));

        var (newest, _) = await TagsAsync("ui/tags", null, TagSort.Newest, 1, 10);
        Assert.Equal("dev-1", newest[0].Name);
        Assert.Empty((await TagsAsync("ui/none", null, TagSort.Name, 1, 10)).Items);
    }

    [Fact]
    public async Task Repositories_sort_by_last_push()
    {
        var (a, _, _) = await ImageManifestAsync("sort/a");
        var (b, _, _) = await ImageManifestAsync("sort/b");
        await PutAsync("sort/b", "v1", b);
        Host.Time.Advance(TimeSpan.FromMinutes(1));
        await PutAsync("sort/a", "v1", a);
        Host.Time.Advance(TimeSpan.FromMinutes(1));
        await PutAsync("sort/b", "v2", b);

        var filter = new RepositoryVisibilityFilter(All: true, [], IncludePublic: true);
        var (items, _) = await InScope(sp => sp.GetRequiredService<RepositoryService>().ListAsync(filter, "sort", null, 1, 10, default, RepositorySort.LastPush));
        Assert.Equal(["sort/b", "sort/a"], items.Select(r => r.Name));
        var (byName, _) = await InScope(sp => sp.GetRequiredService<RepositoryService>().ListAsync(filter, "sort", null, 1, 10, default));
        Assert.Equal(["sort/a", "sort/b"], byName.Select(r => r.Name));
    }

    [Fact]
    public async Task Manifest_details_hold_layers_config_tags_and_referrers()
    {
        var (json, configDigest, layerDigest) = await ImageManifestAsync("ui/detail");
        var image = await PutAsync("ui/detail", "v1", json);
        var subject = $",\"subject\":{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{image.Digest}\",\"size\":{Utf8(json).Length}}},\"artifactType\":\"application/vnd.example.sig\"";
        var (referrer, _, _) = await ImageManifestAsync("ui/detail", subject);
        await PutAsync("ui/detail", "sig", referrer);

        var details = await InScope(sp => sp.GetRequiredService<RepositoryContentService>().GetManifestAsync("ui/detail", Reference("v1"), default));

        Assert.NotNull(details);
        Assert.False(details.IsIndex);
        Assert.Equal(["v1"], details.Tags);
        Assert.Equal(layerDigest.ToString(), Assert.Single(details.Layers).Digest);
        Assert.Equal(configDigest.ToString(), details.ConfigDigest);
        Assert.Contains("\"architecture\":\"amd64\"", System.Text.Encoding.UTF8.GetString(details.Config!), StringComparison.Ordinal);
        Assert.Equal("application/vnd.example.sig", Assert.Single(details.Referrers).ArtifactType);
        Assert.Null(await InScope(sp => sp.GetRequiredService<RepositoryContentService>().GetManifestAsync("ui/detail", Reference("nope"), default)));
    }
}
