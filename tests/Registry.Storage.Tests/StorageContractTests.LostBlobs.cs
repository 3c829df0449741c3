using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Core;
using Registry.Storage.Blobs;
using Registry.Storage.Gc;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Storage.Tests;

// The metadata follows the blob store: a blob whose file is gone is unknown everywhere, and clients upload it again.
public abstract partial class StorageContractTests
{
    [Fact]
    public async Task A_blob_whose_file_is_lost_is_unknown_to_get_head_and_mount_until_it_is_pushed_again()
    {
        var content = RandomBytes(2000);
        var digest = await PushBlobAsync("lost/app", content);
        await PushBlobAsync("lost/other", content);
        await Stored.LoseAsync(digest);

        var opened = await InScope(sp => sp.GetRequiredService<BlobService>().OpenAsync("lost/app", digest, default));

        Assert.Null(opened);
        Assert.Null(await StatAsync("lost/app", digest));
        Assert.Null(await StatAsync("lost/other", digest));
        Assert.False(await InScope(sp => sp.GetRequiredService<BlobService>().MountAsync("lost/target", "lost/other", digest, default)));
        Assert.Null(await StatAsync("lost/target", digest));

        await PushBlobAsync("lost/app", content);

        Assert.Equal(content.Length, await StatAsync("lost/app", digest));
        Assert.Equal(content, await ReadBlobAsync(digest));
    }

    [Fact]
    public async Task A_head_that_finds_the_file_lost_makes_a_mount_fall_back_to_an_upload()
    {
        var digest = await PushBlobAsync("lost/source", RandomBytes(700));
        await Stored.LoseAsync(digest);

        Assert.Null(await StatAsync("lost/source", digest));
        Assert.False(await InScope(sp => sp.GetRequiredService<BlobService>().MountAsync("lost/mounted", "lost/source", digest, default)));
    }

    [Fact]
    public async Task A_push_of_the_same_blob_while_its_loss_is_handled_keeps_its_records()
    {
        var content = RandomBytes(1500);
        var digest = await PushBlobAsync("race/old", content);
        await Stored.LoseAsync(digest);

        // The push completes right after the GET found the file missing, before the records are removed.
        var reader = new AfterFirstMiss(Host.Get<IBlobReader>(), () => PushBlobAsync("race/new", content));
        var opened = await InScope(sp => new BlobService(
            sp.GetRequiredService<RegistryDbContext>(), reader, sp.GetRequiredService<UploadService>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<GcOptions>>(), sp.GetRequiredService<ILogger<BlobService>>()).OpenAsync("race/old", digest, default));

        Assert.Null(opened);
        Assert.True(reader.Ran);
        Assert.Equal(content.Length, await StatAsync("race/new", digest));
        Assert.Equal(content.Length, await StatAsync("race/old", digest));
    }

    [Fact]
    public async Task A_blob_a_manifest_uses_cannot_be_deleted_until_the_manifest_is()
    {
        var (json, config, layer) = await ImageManifestAsync("delblob/app");
        var manifest = await PutAsync("delblob/app", "v1", json);

        var refused = await Assert.ThrowsAsync<RegistryException>(() => DeleteBlobAsync("delblob/app", layer));
        var configRefused = await Assert.ThrowsAsync<RegistryException>(() => DeleteBlobAsync("delblob/app", config));

        Assert.Equal(ErrorCode.StillReferenced, refused.Error);
        Assert.Equal(ErrorCode.StillReferenced, configRefused.Error);
        Assert.Contains(manifest.Digest.ToString(), refused.Detail, StringComparison.Ordinal);
        Assert.NotNull(await StatAsync("delblob/app", layer));

        await InScope(sp => sp.GetRequiredService<ManifestService>().DeleteAsync("delblob/app", Reference(manifest.Digest.ToString()), author: null, default));

        Assert.True(await DeleteBlobAsync("delblob/app", layer));
        Assert.True(await DeleteBlobAsync("delblob/app", config));
    }

    [Fact]
    public async Task A_manifest_an_index_lists_cannot_be_deleted_and_the_index_stays_whole()
    {
        var (child, _, _) = await ImageManifestAsync("delchild/app");
        var childDigest = (await PutAsync("delchild/app", Digest.ComputeSha256(Utf8(child)).ToString(), child)).Digest;
        var index = $"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciIndex}\",\"manifests\":[{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{childDigest}\",\"size\":{Utf8(child).Length},\"platform\":{{\"os\":\"linux\",\"architecture\":\"amd64\"}}}}]}}";
        var indexDigest = (await PutAsync("delchild/app", "multi", index, MediaTypes.OciIndex)).Digest;

        var refused = await Assert.ThrowsAsync<RegistryException>(() => InScope(sp =>
            sp.GetRequiredService<ManifestService>().DeleteAsync("delchild/app", Reference(childDigest.ToString()), author: null, default)));

        Assert.Equal(ErrorCode.StillReferenced, refused.Error);
        Assert.Contains(indexDigest.ToString(), refused.Detail, StringComparison.Ordinal);
        Assert.Contains("multi", refused.Detail, StringComparison.Ordinal);
        Assert.NotNull(await GetAsync("delchild/app", childDigest.ToString()));
        var platforms = await InScope(sp => sp.GetRequiredService<RepositoryContentService>().GetManifestAsync("delchild/app", Reference("multi"), default));
        Assert.Equal(childDigest.ToString(), Assert.Single(platforms!.Platforms).Digest);

        Assert.True(await InScope(sp => sp.GetRequiredService<ManifestService>().DeleteAsync("delchild/app", Reference(indexDigest.ToString()), author: null, default)));
        Assert.True(await InScope(sp => sp.GetRequiredService<ManifestService>().DeleteAsync("delchild/app", Reference(childDigest.ToString()), author: null, default)));
    }

    private Task<bool> DeleteBlobAsync(string repository, Digest digest) =>
        InScope(sp => sp.GetRequiredService<BlobService>().DeleteAsync(repository, digest, default));

    /// <summary>The real blob store, with something done once, right after the first look that finds a blob missing.</summary>
    private sealed class AfterFirstMiss(IBlobReader inner, Func<Task> action) : IBlobReader
    {
        public bool Ran { get; private set; }

        public Task<BlobStat?> StatAsync(Digest digest, CancellationToken cancellationToken) => inner.StatAsync(digest, cancellationToken);

        public async Task<BlobContent?> OpenAsync(Digest digest, CancellationToken cancellationToken)
        {
            var content = await inner.OpenAsync(digest, cancellationToken);
            if (content is null && !Ran)
            {
                Ran = true;
                await action();
            }

            return content;
        }
    }
}
