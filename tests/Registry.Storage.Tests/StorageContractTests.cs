using System.IO.Pipelines;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Registry.Core;
using Registry.Storage.Blobs;
using Registry.Storage.Blobs.S3;
using Registry.Storage.Services;

namespace Registry.Storage.Tests;

/// <summary>
/// The storage contract, run against every metadata provider (see the subclasses): uploads,
/// visibility, manifests, tags, listings, referrers, concurrency and restarts.
/// </summary>
public abstract partial class StorageContractTests : IAsyncLifetime
{
    private readonly string _dataDirectory = Path.Combine(Path.GetTempPath(), "registry-storage-tests", Guid.NewGuid().ToString("N"));

    protected StorageHost Host { get; private set; } = null!;

    /// <summary>Restarts the storage over the same data with these settings added (e.g. <c>Registry:Gc:ReviewDelay</c>).</summary>
    protected async Task ReconfigureAsync(IReadOnlyDictionary<string, string?> settings)
    {
        var merged = new Dictionary<string, string?>(Host.Settings);
        foreach (var (key, value) in settings)
        {
            merged[key] = value;
        }

        await Host.DisposeAsync();
        Host = await StorageHost.StartAsync(_dataDirectory, merged);
    }

    /// <summary>The settings that select and connect the provider under test.</summary>
    protected abstract Task<Dictionary<string, string?>> ProviderSettingsAsync();

    public async Task InitializeAsync() => Host = await StorageHost.StartAsync(_dataDirectory, await ProviderSettingsAsync());

    public async Task DisposeAsync()
    {
        await Host.DisposeAsync();
        if (Directory.Exists(_dataDirectory))
        {
            Directory.Delete(_dataDirectory, recursive: true);
        }
    }

    protected static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        Random.Shared.NextBytes(bytes);
        return bytes;
    }

    protected async Task<T> InScope<T>(Func<IServiceProvider, Task<T>> action)
    {
        await using var scope = Host.Scope();
        return await action(scope.ServiceProvider);
    }

    protected Task InScope(Func<IServiceProvider, Task> action) => InScope(async sp =>
    {
        await action(sp);
        return true;
    });

    protected Task<Digest> PushBlobAsync(string repository, byte[] content) => InScope(async sp =>
    {
        var digest = Digest.ComputeSha256(content);
        await sp.GetRequiredService<UploadService>().UploadWholeAsync(repository, digest, Body(content), content.Length, default);
        return digest;
    });

    /// <summary>The committed blobs in whichever store the provider settings chose.</summary>
    protected StoredBlobs Stored =>
        Host.Settings.TryGetValue("Registry:Storage:Provider", out var provider) && provider == "S3"
            ? new StoredBlobs.Objects(Host.Get<S3BlobStore>().Client)
            : new StoredBlobs.Files(Host.DataDirectory);

    /// <summary>A committed blob's bytes, read through the store as the API serves them (a local file or a stream).</summary>
    protected async Task<byte[]> ReadBlobAsync(Digest digest)
    {
        switch (await Host.Get<IBlobReader>().OpenAsync(digest, default))
        {
            case BlobContent.LocalFile file:
                return await File.ReadAllBytesAsync(file.Path);
            case BlobContent.Content content:
                await using (content.Stream)
                {
                    using var copy = new MemoryStream();
                    await content.Stream.CopyToAsync(copy);
                    Assert.Equal(content.Size, copy.Length);
                    return copy.ToArray();
                }

            case var other:
                throw new InvalidOperationException($"blob {digest} cannot be read here: {other}");
        }
    }

    protected Task<long?> StatAsync(string repository, Digest digest) =>
        InScope(sp => sp.GetRequiredService<BlobService>().StatAsync(repository, digest, default));

    [Fact]
    public async Task A_whole_upload_is_visible_in_its_repository_only()
    {
        var content = RandomBytes(100_000);

        var digest = await PushBlobAsync("team/app", content);

        Assert.Equal(content.Length, await StatAsync("team/app", digest));
        Assert.Null(await StatAsync("team/other", digest));
    }

    [Fact]
    public async Task Chunks_append_in_order_and_commit_under_their_digest()
    {
        var content = RandomBytes(3 * 1024 * 1024 + 17);
        var digest = Digest.ComputeSha256(content);
        var id = await InScope(async sp => (await sp.GetRequiredService<UploadService>().StartAsync("chunks/app", owner: null, default)).Id);

        var offset = 0;
        foreach (var size in new[] { 1024 * 1024, 1024 * 1024, content.Length - 2 * 1024 * 1024 })
        {
            var start = offset;
            var status = await InScope(sp => sp.GetRequiredService<UploadService>().AppendAsync(
                "chunks/app", id, Body(content, start, size), new ChunkRange(start, start + size - 1), size, default));
            offset += size;
            Assert.Equal(offset, status.Offset);
        }

        await InScope(sp => sp.GetRequiredService<UploadService>().CompleteAsync("chunks/app", id, digest, null, null, null, default));

        Assert.Equal(content.Length, await StatAsync("chunks/app", digest));
        Assert.Equal(content, await ReadBlobAsync(digest));
    }

    [Fact]
    public async Task A_chunk_that_does_not_start_at_the_offset_is_refused_and_changes_nothing()
    {
        var id = await InScope(async sp => (await sp.GetRequiredService<UploadService>().StartAsync("order/app", owner: null, default)).Id);
        await InScope(sp => sp.GetRequiredService<UploadService>().AppendAsync("order/app", id, Body(new byte[10]), new ChunkRange(0, 9), 10, default));

        var overlapping = await Assert.ThrowsAsync<UploadRangeException>(() => InScope(sp =>
            sp.GetRequiredService<UploadService>().AppendAsync("order/app", id, Body(new byte[10]), new ChunkRange(5, 14), 10, default)));
        var gap = await Assert.ThrowsAsync<UploadRangeException>(() => InScope(sp =>
            sp.GetRequiredService<UploadService>().AppendAsync("order/app", id, Body(new byte[10]), new ChunkRange(20, 29), 10, default)));

        Assert.Equal(10, overlapping.Offset);
        Assert.Equal(10, gap.Offset);
        var status = await InScope(sp => sp.GetRequiredService<UploadService>().GetStatusAsync("order/app", id, default));
        Assert.Equal(10, status.Offset);
    }

    [Fact]
    public async Task A_chunk_whose_body_breaks_off_is_undone()
    {
        var id = await InScope(async sp => (await sp.GetRequiredService<UploadService>().StartAsync("broken/app", owner: null, default)).Id);
        await InScope(sp => sp.GetRequiredService<UploadService>().AppendAsync("broken/app", id, Body(new byte[100]), null, null, default));

        await Assert.ThrowsAsync<IOException>(() => InScope(sp =>
            sp.GetRequiredService<UploadService>().AppendAsync("broken/app", id, PipeReader.Create(new BreaksAfter(RandomBytes(5000), 3000)), null, 5000, default)));

        var status = await InScope(sp => sp.GetRequiredService<UploadService>().GetStatusAsync("broken/app", id, default));
        Assert.Equal(100, status.Offset);
        Assert.Equal(100, await Host.Get<IBlobIngester>().GetStagedLengthAsync(id, default));
    }

    [Fact]
    public async Task An_upload_held_by_another_writer_is_refused_without_damage()
    {
        var id = await InScope(async sp => (await sp.GetRequiredService<UploadService>().StartAsync("held/app", owner: null, default)).Id);
        await InScope(sp => sp.GetRequiredService<UploadService>().AppendAsync("held/app", id, Body(new byte[10]), null, 10, default));

        // Another server process writing the same upload holds its staged file.
        await using (await Host.Get<IBlobIngester>().OpenAppendAsync(id, default))
        {
            var e = await Assert.ThrowsAsync<RegistryException>(() => InScope(sp =>
                sp.GetRequiredService<UploadService>().AppendAsync("held/app", id, Body(new byte[5]), null, 5, default)));
            Assert.Equal(ErrorCode.BlobUploadInvalid, e.Error);
        }

        var status = await InScope(sp => sp.GetRequiredService<UploadService>().AppendAsync("held/app", id, Body(new byte[5]), new ChunkRange(10, 14), 5, default));
        Assert.Equal(15, status.Offset);
    }

    [Fact]
    public async Task A_body_shorter_than_declared_is_size_invalid_and_undone()
    {
        var id = await InScope(async sp => (await sp.GetRequiredService<UploadService>().StartAsync("short/app", owner: null, default)).Id);

        var e = await Assert.ThrowsAsync<RegistryException>(() => InScope(sp =>
            sp.GetRequiredService<UploadService>().AppendAsync("short/app", id, Body(new byte[10]), null, 20, default)));

        Assert.Equal(ErrorCode.SizeInvalid, e.Error);
        Assert.Equal(0, await Host.Get<IBlobIngester>().GetStagedLengthAsync(id, default));
    }

    [Fact]
    public async Task A_wrong_digest_removes_the_upload_and_its_staged_bytes()
    {
        var content = RandomBytes(1000);
        var wrong = Digest.ComputeSha256(RandomBytes(10));
        var id = await InScope(async sp => (await sp.GetRequiredService<UploadService>().StartAsync("wrong/app", owner: null, default)).Id);

        var e = await Assert.ThrowsAsync<RegistryException>(() => InScope(sp =>
            sp.GetRequiredService<UploadService>().CompleteAsync("wrong/app", id, wrong, Body(content), null, content.Length, default)));

        Assert.Equal(ErrorCode.DigestInvalid, e.Error);
        Assert.Null(await Host.Get<IBlobIngester>().GetStagedLengthAsync(id, default));
        Assert.Null(await StatAsync("wrong/app", wrong));
        Assert.Null(await StatAsync("wrong/app", Digest.ComputeSha256(content)));
        var gone = await Assert.ThrowsAsync<RegistryException>(() => InScope(sp => sp.GetRequiredService<UploadService>().GetStatusAsync("wrong/app", id, default)));
        Assert.Equal(ErrorCode.BlobUploadUnknown, gone.Error);
        Assert.Empty(await InScope(sp => sp.GetRequiredService<ManifestService>().CatalogAsync(100, null, default)));
    }

    [Fact]
    public async Task A_sha512_digest_is_verified_with_sha512()
    {
        var content = RandomBytes(5000);
        var digest = Digest.Parse("sha512:" + new string('0', 128)).ComputeSame(content);

        await InScope(sp => sp.GetRequiredService<UploadService>().UploadWholeAsync("sha512/app", digest, Body(content), content.Length, default));

        Assert.Equal(content.Length, await StatAsync("sha512/app", digest));
    }

    [Fact]
    public async Task An_upload_belongs_to_its_repository()
    {
        var id = await InScope(async sp => (await sp.GetRequiredService<UploadService>().StartAsync("owner/app", owner: null, default)).Id);

        var e = await Assert.ThrowsAsync<RegistryException>(() => InScope(sp =>
            sp.GetRequiredService<UploadService>().AppendAsync("thief/app", id, Body(new byte[1]), null, 1, default)));

        Assert.Equal(ErrorCode.BlobUploadUnknown, e.Error);
    }

    [Fact]
    public async Task A_chunked_upload_resumes_after_a_restart()
    {
        var content = RandomBytes(2 * 1024 * 1024);
        var digest = Digest.ComputeSha256(content);
        var id = await InScope(async sp => (await sp.GetRequiredService<UploadService>().StartAsync("resume/app", owner: null, default)).Id);
        await InScope(sp => sp.GetRequiredService<UploadService>().AppendAsync("resume/app", id, Body(content, 0, 1_000_000), null, 1_000_000, default));

        await using var restarted = await Host.RestartAsync();
        await using var scope = restarted.Scope();
        var uploads = scope.ServiceProvider.GetRequiredService<UploadService>();
        var status = await uploads.GetStatusAsync("resume/app", id, default);
        Assert.Equal(1_000_000, status.Offset);
        await uploads.CompleteAsync("resume/app", id, digest, Body(content, 1_000_000, content.Length - 1_000_000), new ChunkRange(1_000_000, content.Length - 1), null, default);

        Assert.Equal(content.Length, await scope.ServiceProvider.GetRequiredService<BlobService>().StatAsync("resume/app", digest, default));
    }

    [Fact]
    public async Task Mount_links_a_blob_the_source_has()
    {
        var digest = await PushBlobAsync("mount/source", RandomBytes(500));

        var mounted = await InScope(sp => sp.GetRequiredService<BlobService>().MountAsync("mount/target", "mount/source", digest, default));

        Assert.True(mounted);
        Assert.Equal(500, await StatAsync("mount/target", digest));
    }

    [Fact]
    public async Task Mount_from_a_repository_without_the_blob_links_nothing()
    {
        var digest = await PushBlobAsync("mount/elsewhere", RandomBytes(500));

        var mounted = await InScope(sp => sp.GetRequiredService<BlobService>().MountAsync("mount/target2", "mount/empty", digest, default));

        Assert.False(mounted);
        Assert.Null(await StatAsync("mount/target2", digest));
    }

    [Fact]
    public async Task Deleting_a_blob_unlinks_it_from_one_repository_only()
    {
        var content = RandomBytes(300);
        var digest = await PushBlobAsync("del/one", content);
        await PushBlobAsync("del/two", content);

        Assert.True(await InScope(sp => sp.GetRequiredService<BlobService>().DeleteAsync("del/one", digest, default)));

        Assert.Null(await StatAsync("del/one", digest));
        Assert.Equal(300, await StatAsync("del/two", digest));
        Assert.False(await InScope(sp => sp.GetRequiredService<BlobService>().DeleteAsync("del/one", digest, default)));
    }

    [Fact]
    public async Task Fifty_concurrent_uploads_of_one_blob_all_succeed()
    {
        var content = RandomBytes(64 * 1024);

        var digests = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(() => PushBlobAsync($"concurrent/repo{i % 10}", content))));

        Assert.Single(digests.Distinct());
        for (var i = 0; i < 10; i++)
        {
            Assert.Equal(content.Length, await StatAsync($"concurrent/repo{i}", digests[0]));
        }
    }

    [Fact]
    public async Task Expired_uploads_are_purged_with_their_staged_bytes()
    {
        var id = await InScope(async sp => (await sp.GetRequiredService<UploadService>().StartAsync("purge/app", owner: null, default)).Id);
        var fresh = await InScope(async sp => (await sp.GetRequiredService<UploadService>().StartAsync("purge/app", owner: null, default)).Id);
        Host.Time.Advance(TimeSpan.FromDays(6));
        await InScope(sp => sp.GetRequiredService<UploadService>().AppendAsync("purge/app", fresh, Body(new byte[1]), null, 1, default));
        Host.Time.Advance(TimeSpan.FromDays(2));

        var purger = Host.Get<IEnumerable<IHostedService>>().OfType<UploadPurger>().Single();
        await purger.PurgeOnceAsync(default);

        Assert.Null(await Host.Get<IBlobIngester>().GetStagedLengthAsync(id, default));
        Assert.Equal(1, await Host.Get<IBlobIngester>().GetStagedLengthAsync(fresh, default));
    }

    /// <summary>A body that delivers some bytes, then fails as a dropped connection does.</summary>
    private sealed class BreaksAfter(byte[] content, int breakAt) : MemoryStream(content)
    {
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (Position >= breakAt)
            {
                throw new IOException("connection reset");
            }

            var max = (int)Math.Min(buffer.Length, breakAt - Position);
            return await base.ReadAsync(buffer[..max], cancellationToken);
        }
    }

    protected static byte[] Utf8(string s) => Encoding.UTF8.GetBytes(s);

    protected static PipeReader Body(byte[] content) => PipeReader.Create(new MemoryStream(content));

    protected static PipeReader Body(byte[] content, int offset, int count) => PipeReader.Create(new MemoryStream(content, offset, count));
}
