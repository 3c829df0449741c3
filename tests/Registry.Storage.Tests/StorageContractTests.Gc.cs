using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core;
using Registry.Storage.Gc;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Storage.Tests;

// Garbage collection on the real store: what it frees, what it must keep, and that a dry run tells the truth.
public abstract partial class StorageContractTests
{
    private sealed record PushedImage(Digest Manifest, Digest Config, int ConfigSize, Digest[] Layers);

    private Task UseGcAsync(TimeSpan reviewDelay, TimeSpan uploadGrace, bool deleteUntagged = false) => ReconfigureAsync(new Dictionary<string, string?>
    {
        ["Registry:Gc:ReviewDelay"] = reviewDelay.ToString("c", CultureInfo.InvariantCulture),
        ["Registry:Gc:UploadGrace"] = uploadGrace.ToString("c", CultureInfo.InvariantCulture),
        ["Registry:Gc:DeleteUntagged"] = deleteUntagged ? "true" : "false",
    });

    private Task<GcReport> GcAsync(bool dryRun = false, bool sweep = true) =>
        InScope(sp => sp.GetRequiredService<GarbageCollector>().RunAsync(dryRun, sweep, default));

    /// <summary>Pushes a config of its own and the given layers, then the manifest (by tag, or by digest when tag is null).</summary>
    private async Task<PushedImage> PushImageAsync(string repository, string? tag, params byte[][] layers)
    {
        var config = Utf8($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"n\":\"{Guid.NewGuid()}\"}}");
        var configDigest = await PushBlobAsync(repository, config);
        var layerDigests = new List<(Digest Digest, int Size)>();
        foreach (var layer in layers)
        {
            layerDigests.Add((await PushBlobAsync(repository, layer), layer.Length));
        }

        var json = ImageJson(configDigest, config.Length, [.. layerDigests]);
        var result = await PutAsync(repository, tag ?? Digest.ComputeSha256(Utf8(json)).ToString(), json);
        return new PushedImage(result.Digest, configDigest, config.Length, [.. layerDigests.Select(l => l.Digest)]);
    }

    /// <summary>The blobs of the blob store, by location (path or key), with their sizes.</summary>
    private Task<Dictionary<string, long>> StoreFilesAsync() => Stored.ListAsync();

    private Task<(int Blobs, int Links, int Manifests, int Repositories, int Tags)> RowCountsAsync() => InScope(async sp =>
    {
        var db = sp.GetRequiredService<RegistryDbContext>();
        return (await db.Blobs.CountAsync(), await db.RepositoryBlobs.CountAsync(), await db.Manifests.CountAsync(), await db.Repositories.CountAsync(), await db.Tags.CountAsync());
    });

    private Task<bool> DeleteRepositoryAsync(string name) => InScope(sp => sp.GetRequiredService<RepositoryService>().DeleteAsync(name, default));

    [Fact]
    public async Task Deleting_a_repository_frees_the_blobs_no_other_repository_uses_once_the_review_delay_has_passed()
    {
        await UseGcAsync(reviewDelay: TimeSpan.FromHours(1), uploadGrace: TimeSpan.FromHours(1));
        var shared = RandomBytes(5_000);
        var own = RandomBytes(7_000);
        var doomed = await PushImageAsync("free/a", "v1", shared, own);
        await PushImageAsync("free/b", "v1", shared);
        Host.Time.Advance(TimeSpan.FromHours(2));
        var before = await StoreFilesAsync();

        Assert.True(await DeleteRepositoryAsync("free/a"));
        var early = await GcAsync();
        Host.Time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        var run = await GcAsync();

        Assert.Equal(0, early.Blobs);
        var after = await StoreFilesAsync();
        var removed = before.Keys.Except(after.Keys).ToList();
        Assert.Equal(2, run.Blobs);
        Assert.Equal(removed.Count, run.Blobs);
        Assert.Equal(removed.Sum(f => before[f]), run.Bytes);
        Assert.Equal(own.Length + doomed.ConfigSize, run.Bytes);
        Assert.Null(await StatAsync("free/a", doomed.Config));
        Assert.Equal(shared.Length, await StatAsync("free/b", doomed.Layers[0]));
        Assert.NotNull(await GetAsync("free/b", "v1"));
        Assert.Equal(0, (await GcAsync()).Blobs);
    }

    [Fact]
    public async Task A_dry_run_changes_nothing_and_reports_exactly_what_the_real_run_then_removes()
    {
        await UseGcAsync(reviewDelay: TimeSpan.FromMinutes(10), uploadGrace: TimeSpan.FromHours(1), deleteUntagged: true);
        var shared = RandomBytes(4_000);
        await PushImageAsync("dry/one", "v1", RandomBytes(3_000));
        var first = await PushImageAsync("dry/two", "v1", shared, RandomBytes(2_500));
        await PushImageAsync("dry/two", "v2", shared);
        await PushBlobAsync("dry/three", RandomBytes(1_500)); // a push that never came back
        await PushImageAsync("dry/four", "v1", RandomBytes(1_000));
        await PushImageAsync("dry/five", "v1", RandomBytes(900));
        var orphan = RandomBytes(1_234); // bytes whose record a crash lost
        var orphanDigest = Digest.ComputeSha256(orphan);
        var orphanPath = await Stored.PlaceAsync(orphanDigest, orphan);

        Assert.True(await DeleteRepositoryAsync("dry/one"));
        Assert.True(await DeleteManifestAsync("dry/two", first.Manifest.ToString()));
        Assert.True(await DeleteManifestAsync("dry/four", "v1")); // untagged: collected with DeleteUntagged
        var five = await GetAsync("dry/five", "v1");
        Assert.True(await DeleteManifestAsync("dry/five", five!.Digest)); // the repository is left empty
        Host.Time.Advance(TimeSpan.FromHours(2));
        var files = await StoreFilesAsync();
        var rows = await RowCountsAsync();

        var dry = await GcAsync(dryRun: true);

        Assert.True(dry.DryRun);
        Assert.Equal(files, await StoreFilesAsync());
        Assert.Equal(rows, await RowCountsAsync());
        var real = await GcAsync();
        Assert.False(real.DryRun);
        Assert.Equal(
            (dry.Blobs, dry.Manifests, dry.Bytes, dry.Links, dry.OrphanFiles, dry.Repositories),
            (real.Blobs, real.Manifests, real.Bytes, real.Links, real.OrphanFiles, real.Repositories));
        var removed = files.Keys.Except((await StoreFilesAsync()).Keys).ToList();
        Assert.Equal(removed.Count, real.Blobs);
        Assert.Equal(removed.Sum(f => files[f]), real.Bytes);
        Assert.Contains(orphanPath, removed);
        Assert.Equal(1, real.OrphanFiles);
        Assert.Equal(1, real.Manifests);
        Assert.Equal(2, real.Repositories); // dry/five, emptied by the delete, and dry/three, which never held a manifest
        // One config and one layer of dry/one, of dry/two's first image, of dry/five; the abandoned blob; the orphan.
        Assert.Equal(8, real.Blobs);
        Assert.Equal(shared.Length, await StatAsync("dry/two", first.Layers[0]));
        Assert.NotNull(await GetAsync("dry/two", "v2"));
    }

    [Fact]
    public async Task An_emptied_repository_leaves_the_catalog_at_once_and_its_record_goes_with_its_content()
    {
        await UseGcAsync(reviewDelay: TimeSpan.Zero, uploadGrace: TimeSpan.Zero);
        var image = await PushImageAsync("empty/app", "v1", RandomBytes(800));

        Assert.True(await DeleteManifestAsync("empty/app", image.Manifest.ToString()));

        Assert.DoesNotContain("empty/app", await InScope(sp => sp.GetRequiredService<ManifestService>().CatalogAsync(100, null, default)));
        Assert.Null(await InScope(sp => sp.GetRequiredService<RepositoryService>().FindAsync("empty/app", default)));
        var run = await GcAsync();
        Assert.Equal(1, run.Repositories);
        Assert.Equal(2, run.Blobs);
        Assert.Equal((0, 0, 0, 0, 0), await RowCountsAsync());
        Assert.Empty(await StoreFilesAsync());
    }

    [Fact]
    public async Task Untagging_leaves_the_sibling_tags_and_everything_they_use()
    {
        await UseGcAsync(reviewDelay: TimeSpan.Zero, uploadGrace: TimeSpan.FromMinutes(5), deleteUntagged: true);
        var shared = RandomBytes(6_000);
        var first = await PushImageAsync("sib/app", "v1", shared, RandomBytes(2_000));
        await PutAsync("sib/app", "v1-alias", System.Text.Encoding.UTF8.GetString((await GetAsync("sib/app", "v1"))!.Payload));
        var second = await PushImageAsync("sib/app", "v2", shared);
        Host.Time.Advance(TimeSpan.FromHours(1));

        Assert.True(await DeleteManifestAsync("sib/app", "v1"));
        var kept = await GcAsync();

        Assert.Equal((0, 0), (kept.Manifests, kept.Blobs));
        Assert.Equal(first.Manifest.ToString(), (await GetAsync("sib/app", "v1-alias"))!.Digest);
        foreach (var digest in first.Layers.Append(first.Config).Concat(second.Layers).Append(second.Config))
        {
            Assert.NotNull(await StatAsync("sib/app", digest));
        }

        // The last tag goes: the manifest is collected, then in a later run what only it used (once the checks
        // above, which renewed the links as a push's checks do, are older than the grace).
        Assert.True(await DeleteManifestAsync("sib/app", "v1-alias"));
        var manifests = await GcAsync();
        Host.Time.Advance(TimeSpan.FromMinutes(6));
        var blobs = await GcAsync();

        Assert.Equal(1, manifests.Manifests);
        Assert.Null(await GetAsync("sib/app", first.Manifest.ToString()));
        Assert.Equal(2, blobs.Blobs);
        Assert.Null(await StatAsync("sib/app", first.Config));
        Assert.Null(await StatAsync("sib/app", first.Layers[1]));
        Assert.Equal(shared.Length, await StatAsync("sib/app", second.Layers[0]));
        Assert.NotNull(await GetAsync("sib/app", "v2"));
    }

    [Fact]
    public async Task Untagged_manifests_are_kept_unless_DeleteUntagged_is_on()
    {
        await UseGcAsync(reviewDelay: TimeSpan.Zero, uploadGrace: TimeSpan.Zero);
        var image = await PushImageAsync("keep/app", "v1", RandomBytes(1_000));

        Assert.True(await DeleteManifestAsync("keep/app", "v1"));
        Host.Time.Advance(TimeSpan.FromDays(30));
        var run = await GcAsync();

        Assert.Equal((0, 0), (run.Manifests, run.Blobs));
        Assert.NotNull(await GetAsync("keep/app", image.Manifest.ToString()));
        Assert.NotNull(await StatAsync("keep/app", image.Layers[0]));
    }

    [Fact]
    public async Task A_push_whose_manifest_comes_later_keeps_its_blobs_through_collection_with_no_review_delay()
    {
        await UseGcAsync(reviewDelay: TimeSpan.Zero, uploadGrace: TimeSpan.FromHours(1));
        var config = Utf8("{\"architecture\":\"amd64\",\"os\":\"linux\",\"slow\":true}");
        var layer = RandomBytes(3_000);
        var configDigest = await PushBlobAsync("slow/app", config);
        var layerDigest = await PushBlobAsync("slow/app", layer);

        var first = await GcAsync();
        Host.Time.Advance(TimeSpan.FromMinutes(59));
        var second = await GcAsync();
        var pushed = await PutAsync("slow/app", "v1", ImageJson(configDigest, config.Length, (layerDigest, layer.Length)));
        Host.Time.Advance(TimeSpan.FromDays(2));
        var third = await GcAsync();

        Assert.Equal((0, 0, 0), (first.Blobs + first.Links, second.Blobs + second.Links, third.Blobs + third.Links));
        Assert.Equal(pushed.Digest.ToString(), (await GetAsync("slow/app", "v1"))!.Digest);
        Assert.Equal(layer.Length, await StatAsync("slow/app", layerDigest));
    }

    [Fact]
    public async Task Blobs_of_an_abandoned_push_are_collected_when_the_grace_ends_unless_a_check_renewed_them()
    {
        await UseGcAsync(reviewDelay: TimeSpan.Zero, uploadGrace: TimeSpan.FromHours(1));
        var left = await PushBlobAsync("gone/app", RandomBytes(2_000));
        var checkedAgain = await PushBlobAsync("gone/app", RandomBytes(2_100));
        Host.Time.Advance(TimeSpan.FromMinutes(40));
        Assert.NotNull(await StatAsync("gone/app", checkedAgain)); // a push checks the blob it will name
        Host.Time.Advance(TimeSpan.FromMinutes(30));

        var run = await GcAsync();

        Assert.Equal((1, 2_000L), (run.Blobs, run.Bytes));
        Assert.Null(await StatAsync("gone/app", left));
        Assert.NotNull(await StatAsync("gone/app", checkedAgain));
        Host.Time.Advance(TimeSpan.FromHours(1) + TimeSpan.FromSeconds(1));
        Assert.Equal(1, (await GcAsync()).Blobs);
        Assert.Null(await StatAsync("gone/app", checkedAgain));
        Assert.Empty(await StoreFilesAsync());
        Assert.Equal((0, 0, 0, 0, 0), await RowCountsAsync()); // the repository the push created went with its blobs
    }

    [Fact]
    public async Task A_repository_that_a_push_created_is_listed_once_it_holds_a_manifest()
    {
        var config = await PushBlobAsync("listed/app", Utf8("{\"os\":\"linux\"}"));

        var before = await InScope(sp => sp.GetRequiredService<ManifestService>().CatalogAsync(100, null, default));
        await PutAsync("listed/app", "v1", ImageJson(config, Utf8("{\"os\":\"linux\"}").Length));
        var after = await InScope(sp => sp.GetRequiredService<ManifestService>().CatalogAsync(100, null, default));

        Assert.DoesNotContain("listed/app", before);
        Assert.Contains("listed/app", after);
        Assert.NotNull(await InScope(sp => sp.GetRequiredService<RepositoryService>().FindAsync("listed/app", default)));
    }

    [Fact]
    public async Task An_index_keeps_its_children_and_a_subject_keeps_its_referrers_until_they_go_together()
    {
        await UseGcAsync(reviewDelay: TimeSpan.Zero, uploadGrace: TimeSpan.FromMinutes(5), deleteUntagged: true);
        var amd = await PushImageAsync("idx/app", tag: null, RandomBytes(1_100));
        var arm = await PushImageAsync("idx/app", tag: null, RandomBytes(1_200));
        var index = $"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciIndex}\",\"manifests\":[" +
            $"{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{amd.Manifest}\",\"size\":{await ManifestSizeAsync("idx/app", amd.Manifest)},\"platform\":{{\"architecture\":\"amd64\",\"os\":\"linux\"}}}}," +
            $"{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{arm.Manifest}\",\"size\":{await ManifestSizeAsync("idx/app", arm.Manifest)},\"platform\":{{\"architecture\":\"arm64\",\"os\":\"linux\"}}}}]}}";
        var indexDigest = (await PutAsync("idx/app", "v1", index, MediaTypes.OciIndex)).Digest;
        var signature = RandomBytes(300);
        var signatureDigest = await PushBlobAsync("idx/app", signature);
        var emptyConfig = await PushBlobAsync("idx/app", Utf8("{}"));
        var referrer = $"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciManifest}\",\"artifactType\":\"application/vnd.example.sig\"," +
            $"\"config\":{{\"mediaType\":\"application/vnd.oci.empty.v1+json\",\"digest\":\"{emptyConfig}\",\"size\":2}}," +
            $"\"layers\":[{{\"mediaType\":\"application/vnd.example.sig\",\"digest\":\"{signatureDigest}\",\"size\":{signature.Length}}}]," +
            $"\"subject\":{{\"mediaType\":\"{MediaTypes.OciIndex}\",\"digest\":\"{indexDigest}\",\"size\":{Utf8(index).Length}}}}}";
        var referrerDigest = Digest.ComputeSha256(Utf8(referrer));
        await PutAsync("idx/app", referrerDigest.ToString(), referrer);
        Host.Time.Advance(TimeSpan.FromHours(1));

        var kept = await GcAsync();

        Assert.Equal((0, 0), (kept.Manifests, kept.Blobs));
        Assert.NotNull(await GetAsync("idx/app", amd.Manifest.ToString()));
        Assert.NotNull(await GetAsync("idx/app", referrerDigest.ToString()));

        // Untagged, the index goes; then its children and its referrer; then their blobs.
        Assert.True(await DeleteManifestAsync("idx/app", "v1"));
        var reports = new List<GcReport>();
        for (var round = 0; round < 4; round++)
        {
            reports.Add(await GcAsync());
            Host.Time.Advance(TimeSpan.FromSeconds(1));
        }

        Assert.Equal(4, reports.Sum(r => r.Manifests));
        Assert.Equal(6, reports.Sum(r => r.Blobs));
        Assert.Empty(await StoreFilesAsync());
        Assert.Equal((0, 0, 0, 0, 0), await RowCountsAsync());
    }

    [Fact]
    public async Task A_file_without_a_record_is_removed_by_a_sweep_only()
    {
        await UseGcAsync(reviewDelay: TimeSpan.Zero, uploadGrace: TimeSpan.Zero);
        var kept = await PushImageAsync("orphan/app", "v1", RandomBytes(500));
        var content = RandomBytes(4_321);
        var digest = Digest.ComputeSha256(content);
        var path = await Stored.PlaceAsync(digest, content);

        var reviewsOnly = await GcAsync(sweep: false);
        Assert.True(await Stored.ExistsAsync(path));
        var swept = await GcAsync();

        Assert.Equal(0, reviewsOnly.Blobs);
        Assert.Equal((1, 1, 4_321L), (swept.Blobs, swept.OrphanFiles, swept.Bytes));
        Assert.False(await Stored.ExistsAsync(path));
        Assert.NotNull(await StatAsync("orphan/app", kept.Layers[0]));
    }

    [Fact]
    public async Task A_collected_blob_can_be_pushed_again_and_cannot_be_mounted_meanwhile()
    {
        await UseGcAsync(reviewDelay: TimeSpan.Zero, uploadGrace: TimeSpan.Zero);
        var layer = RandomBytes(2_222);
        var image = await PushImageAsync("again/old", "v1", layer);
        Assert.True(await DeleteRepositoryAsync("again/old"));
        Assert.Equal(2, (await GcAsync()).Blobs);

        Assert.False(await InScope(sp => sp.GetRequiredService<BlobService>().MountAsync("again/new", "again/old", image.Layers[0], default)));
        var pushed = await PushImageAsync("again/new", "v1", layer);

        Assert.Equal(image.Layers[0], pushed.Layers[0]);
        Assert.Equal(layer, await ReadBlobAsync(pushed.Layers[0]));
        Assert.Equal(0, (await GcAsync()).Blobs);
    }

    private async Task<int> ManifestSizeAsync(string repository, Digest digest) => (await GetAsync(repository, digest.ToString()))!.Payload.Length;
}
