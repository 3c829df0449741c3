using Microsoft.Extensions.DependencyInjection;
using Registry.Core;
using Registry.Storage.Services;

namespace Registry.Storage.Tests;

public abstract partial class StorageContractTests
{
    private async Task<(string Json, Digest Config, Digest Layer)> ImageManifestAsync(string repository, string? extra = null)
    {
        var config = Utf8($"{{\"architecture\":\"amd64\",\"os\":\"linux\",\"n\":\"{Guid.NewGuid()}\"}}");
        var layer = RandomBytes(1000);
        var configDigest = await PushBlobAsync(repository, config);
        var layerDigest = await PushBlobAsync(repository, layer);
        var json = $"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciManifest}\",\"config\":{{\"mediaType\":\"{MediaTypes.OciConfig}\",\"digest\":\"{configDigest}\",\"size\":{config.Length}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{layerDigest}\",\"size\":{layer.Length}}}]{extra}}}";
        return (json, configDigest, layerDigest);
    }

    private Task<PutManifestResult> PutAsync(string repository, string reference, string json, string contentType = MediaTypes.OciManifest) =>
        InScope(sp => sp.GetRequiredService<ManifestService>().PutAsync(repository, Reference(reference), Utf8(json), contentType, author: null, default));

    private Task<StoredManifest?> GetAsync(string repository, string reference) =>
        InScope(sp => sp.GetRequiredService<ManifestService>().GetAsync(repository, Reference(reference), default));

    private static ManifestReference Reference(string value) =>
        ManifestReference.TryParse(value, out var reference, out _, out _) ? reference : throw new ArgumentException(value);

    [Fact]
    public async Task A_pushed_manifest_is_found_by_tag_and_by_digest_with_its_exact_bytes()
    {
        var (json, _, _) = await ImageManifestAsync("m/app");

        var result = await PutAsync("m/app", "v1", json);

        var byTag = await GetAsync("m/app", "v1");
        var byDigest = await GetAsync("m/app", result.Digest.ToString());
        Assert.Equal(Utf8(json), byTag!.Payload);
        Assert.Equal(result.Digest.ToString(), byTag.Digest);
        Assert.Equal(MediaTypes.OciManifest, byDigest!.MediaType);
        Assert.Null(await GetAsync("m/other", "v1"));
    }

    [Fact]
    public async Task A_manifest_with_a_missing_blob_is_refused_and_leaves_nothing()
    {
        var json = $"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciManifest}\",\"config\":{{\"mediaType\":\"{MediaTypes.OciConfig}\",\"digest\":\"sha256:{new string('a', 64)}\",\"size\":3}},\"layers\":[]}}";

        var e = await Assert.ThrowsAsync<RegistryException>(() => PutAsync("missing/app", "v1", json));

        Assert.Equal(ErrorCode.ManifestBlobUnknown, e.Error);
        Assert.Empty(await InScope(sp => sp.GetRequiredService<ManifestService>().CatalogAsync(100, null, default)));
    }

    [Fact]
    public async Task A_manifest_whose_blob_size_is_wrong_is_refused()
    {
        var (json, _, _) = await ImageManifestAsync("size/app");

        var e = await Assert.ThrowsAsync<RegistryException>(() => PutAsync("size/app", "v1", json.Replace("\"size\":1000", "\"size\":999", StringComparison.Ordinal)));

        Assert.Equal(ErrorCode.ManifestInvalid, e.Error);
        Assert.Null(await GetAsync("size/app", "v1"));
    }

    [Fact]
    public async Task A_blob_of_another_repository_does_not_satisfy_a_manifest()
    {
        var (json, _, _) = await ImageManifestAsync("leak/source");

        var e = await Assert.ThrowsAsync<RegistryException>(() => PutAsync("leak/target", "v1", json));

        Assert.Equal(ErrorCode.ManifestBlobUnknown, e.Error);
    }

    [Fact]
    public async Task Putting_by_digest_verifies_the_digest()
    {
        var (json, _, _) = await ImageManifestAsync("dig/app");

        var e = await Assert.ThrowsAsync<RegistryException>(() => PutAsync("dig/app", "sha256:" + new string('0', 64), json));

        Assert.Equal(ErrorCode.DigestInvalid, e.Error);
        var ok = await PutAsync("dig/app", Digest.ComputeSha256(Utf8(json)).ToString(), json);
        Assert.NotNull(await GetAsync("dig/app", ok.Digest.ToString()));
    }

    [Fact]
    public async Task Retagging_moves_the_tag_and_keeps_the_old_manifest()
    {
        var (first, _, _) = await ImageManifestAsync("retag/app");
        var (second, _, _) = await ImageManifestAsync("retag/app");
        var one = await PutAsync("retag/app", "latest", first);

        var two = await PutAsync("retag/app", "latest", second);

        Assert.Equal(two.Digest.ToString(), (await GetAsync("retag/app", "latest"))!.Digest);
        Assert.NotNull(await GetAsync("retag/app", one.Digest.ToString()));
    }

    [Fact]
    public async Task Pushing_the_same_manifest_twice_is_idempotent()
    {
        var (json, _, _) = await ImageManifestAsync("twice/app");

        var a = await PutAsync("twice/app", "a", json);
        var b = await PutAsync("twice/app", "b", json);

        Assert.Equal(a.Digest, b.Digest);
        Assert.Equal(["a", "b"], await InScope(sp => sp.GetRequiredService<ManifestService>().ListTagsAsync("twice/app", null, null, default)));
    }

    [Fact]
    public async Task Deleting_a_tag_keeps_the_manifest()
    {
        var (json, _, _) = await ImageManifestAsync("deltag/app");
        var result = await PutAsync("deltag/app", "v1", json);

        Assert.True(await InScope(sp => sp.GetRequiredService<ManifestService>().DeleteAsync("deltag/app", Reference("v1"), author: null, default)));

        Assert.Null(await GetAsync("deltag/app", "v1"));
        Assert.NotNull(await GetAsync("deltag/app", result.Digest.ToString()));
    }

    [Fact]
    public async Task Deleting_a_manifest_removes_its_tags()
    {
        var (json, _, _) = await ImageManifestAsync("delman/app");
        var result = await PutAsync("delman/app", "v1", json);
        await PutAsync("delman/app", "v2", json);

        Assert.True(await InScope(sp => sp.GetRequiredService<ManifestService>().DeleteAsync("delman/app", Reference(result.Digest.ToString()), author: null, default)));

        Assert.Null(await GetAsync("delman/app", result.Digest.ToString()));
        Assert.Empty((await InScope(sp => sp.GetRequiredService<ManifestService>().ListTagsAsync("delman/app", null, null, default)))!);
        Assert.False(await InScope(sp => sp.GetRequiredService<ManifestService>().DeleteAsync("delman/app", Reference(result.Digest.ToString()), author: null, default)));
    }

    [Fact]
    public async Task An_index_needs_its_children_in_the_repository()
    {
        var (child, _, _) = await ImageManifestAsync("index/app");
        var childDigest = Digest.ComputeSha256(Utf8(child));
        var index = $"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciIndex}\",\"manifests\":[{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{childDigest}\",\"size\":{Utf8(child).Length},\"platform\":{{\"os\":\"linux\",\"architecture\":\"amd64\"}}}}]}}";

        var refused = await Assert.ThrowsAsync<RegistryException>(() => PutAsync("index/app", "multi", index, MediaTypes.OciIndex));
        Assert.Equal(ErrorCode.ManifestBlobUnknown, refused.Error);

        await PutAsync("index/app", childDigest.ToString(), child);
        await PutAsync("index/app", "multi", index, MediaTypes.OciIndex);
        Assert.Equal(MediaTypes.OciIndex, (await GetAsync("index/app", "multi"))!.MediaType);
    }

    [Fact]
    public async Task Tags_list_in_byte_order_and_page_after_last()
    {
        var (json, _, _) = await ImageManifestAsync("order/tags");
        foreach (var tag in new[] { "b", "A", "a", "B", "10", "9" })
        {
            await PutAsync("order/tags", tag, json);
        }

        var manifests = Host.Get<IServiceProvider>();
        var all = await InScope(sp => sp.GetRequiredService<ManifestService>().ListTagsAsync("order/tags", null, null, default));
        var page = await InScope(sp => sp.GetRequiredService<ManifestService>().ListTagsAsync("order/tags", 2, "B", default));

        Assert.Equal(["10", "9", "A", "B", "a", "b"], all);
        Assert.Equal(["a", "b"], page);
        Assert.Null(await InScope(sp => sp.GetRequiredService<ManifestService>().ListTagsAsync("order/none", null, null, default)));
    }

    [Fact]
    public async Task The_catalog_lists_repositories_in_order_and_pages()
    {
        foreach (var name in new[] { "cat/c", "cat/a", "cat/b" })
        {
            var (json, _, _) = await ImageManifestAsync(name);
            await PutAsync(name, "v1", json);
        }

        await PushBlobAsync("cat/blobs-only", RandomBytes(10)); // a push that has not put its manifest yet: not listed

        var first = await InScope(sp => sp.GetRequiredService<ManifestService>().CatalogAsync(2, null, default));
        var rest = await InScope(sp => sp.GetRequiredService<ManifestService>().CatalogAsync(2, first[^1], default));

        Assert.Equal(["cat/a", "cat/b"], first);
        Assert.Equal(["cat/c"], rest);
    }

    [Fact]
    public async Task Referrers_are_listed_by_subject_and_filtered_by_artifact_type()
    {
        var (subjectJson, _, _) = await ImageManifestAsync("ref/app");
        var subject = await PutAsync("ref/app", "v1", subjectJson);
        var subjectField = $",\"subject\":{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{subject.Digest}\",\"size\":{Utf8(subjectJson).Length}}}";
        var (sbom, _, _) = await ImageManifestAsync("ref/app", $",\"artifactType\":\"application/vnd.example.sbom\"{subjectField},\"annotations\":{{\"k\":\"v\"}}");
        var (signature, _, _) = await ImageManifestAsync("ref/app", $",\"artifactType\":\"application/vnd.example.sig\"{subjectField}");

        var sbomResult = await PutAsync("ref/app", Digest.ComputeSha256(Utf8(sbom)).ToString(), sbom);
        await PutAsync("ref/app", Digest.ComputeSha256(Utf8(signature)).ToString(), signature);

        Assert.Equal(subject.Digest, sbomResult.Subject);
        var all = await InScope(sp => sp.GetRequiredService<ManifestService>().ReferrersAsync("ref/app", subject.Digest, null, default));
        var filtered = await InScope(sp => sp.GetRequiredService<ManifestService>().ReferrersAsync("ref/app", subject.Digest, "application/vnd.example.sbom", default));
        Assert.Equal(2, all.Count);
        var only = Assert.Single(filtered);
        Assert.Equal(sbomResult.Digest.ToString(), only.Digest);
        Assert.Equal(Utf8(sbom).Length, only.Size);
        Assert.Equal("{\"k\":\"v\"}", only.AnnotationsJson);
        Assert.Empty(await InScope(sp => sp.GetRequiredService<ManifestService>().ReferrersAsync("ref/other", subject.Digest, null, default)));
    }

    [Fact]
    public async Task Concurrent_pushes_of_one_tag_leave_one_consistent_tag()
    {
        var manifests = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            manifests.Add((await ImageManifestAsync("race/app")).Json);
        }

        var results = await Task.WhenAll(Enumerable.Range(0, 20).Select(i => Task.Run(() => PutAsync("race/app", "latest", manifests[i % 5]))));

        var current = await GetAsync("race/app", "latest");
        Assert.Contains(current!.Digest, results.Select(r => r.Digest.ToString()));
        Assert.Equal(["latest"], await InScope(sp => sp.GetRequiredService<ManifestService>().ListTagsAsync("race/app", null, null, default)));
    }
}
