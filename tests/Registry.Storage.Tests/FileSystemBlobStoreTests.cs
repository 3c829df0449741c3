using Registry.Core;
using Registry.Storage.Blobs;
using Registry.Testing;

namespace Registry.Storage.Tests;

public sealed class FileSystemBlobStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "registry-blobstore-tests", Guid.NewGuid().ToString("N"));
    private readonly FileSystemBlobStore _store;

    public FileSystemBlobStoreTests() => _store = new FileSystemBlobStore(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Appends_of_any_size_and_alignment_keep_every_byte()
    {
        var id = UploadId.New();
        await _store.CreateStagingAsync(id, default);
        var expected = new MemoryStream();
        // Sizes around the 4 KiB blocks and the 1 MiB buffer of direct writes, each in its own open,
        // so appends start at every kind of unaligned offset.
        foreach (var size in new[] { 1, 4095, 4097, 100_000, 1024 * 1024 + 3, 4096, 0, 2 * 1024 * 1024 - 1, 17 })
        {
            var chunk = new byte[size];
            Random.Shared.NextBytes(chunk);
            expected.Write(chunk);
            await using (var stream = await _store.OpenAppendAsync(id, default))
            {
                // Several writes per open, like the server's buffers arriving one by one.
                var half = size / 2;
                await stream.WriteAsync(chunk.AsMemory(0, half));
                await stream.WriteAsync(chunk.AsMemory(half));
            }

            Assert.Equal(expected.Length, await _store.GetStagedLengthAsync(id, default));
        }

        var content = expected.ToArray();
        var digest = Digest.ComputeSha256(content);
        await _store.CommitAsync(id, digest, default);
        var blob = Assert.IsType<BlobContent.LocalFile>(await _store.OpenAsync(digest, default));
        Assert.Equal(content, await File.ReadAllBytesAsync(blob.Path));
        Assert.Null(await _store.GetStagedLengthAsync(id, default));
    }

    [Fact]
    public async Task Truncating_undoes_an_append()
    {
        var id = UploadId.New();
        await _store.CreateStagingAsync(id, default);
        await using (var stream = await _store.OpenAppendAsync(id, default))
        {
            await stream.WriteAsync(new byte[5000]);
        }

        await _store.TruncateStagedAsync(id, 10, default);

        Assert.Equal(10, await _store.GetStagedLengthAsync(id, default));
    }

    [Fact]
    public async Task An_upload_is_written_by_one_writer_at_a_time()
    {
        var id = UploadId.New();
        await _store.CreateStagingAsync(id, default);
        await using var first = await _store.OpenAppendAsync(id, default);

        await Assert.ThrowsAsync<IOException>(() => _store.OpenAppendAsync(id, default));
    }

    [Fact]
    public async Task Committing_a_blob_that_exists_drops_the_staged_copy()
    {
        var content = "same bytes"u8.ToArray();
        var digest = Digest.ComputeSha256(content);
        foreach (var _ in Enumerable.Range(0, 2))
        {
            var id = UploadId.New();
            await _store.CreateStagingAsync(id, default);
            await using (var stream = await _store.OpenAppendAsync(id, default))
            {
                await stream.WriteAsync(content);
            }

            await _store.CommitAsync(id, digest, default);
            Assert.Null(await _store.GetStagedLengthAsync(id, default));
        }

        Assert.Equal(content.Length, (await _store.StatAsync(digest, default))!.Size);
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(_root, "uploads")));
    }

    [Fact]
    public async Task Staged_uploads_and_blobs_are_for_the_owner_only_even_with_a_permissive_umask()
    {
        using var umask = FileModes.Umask("022"); // new files 0644 and directories 0755 unless the code says otherwise
        var root = Path.Combine(_root, "strict");
        var store = new FileSystemBlobStore(root);
        var content = "private layer"u8.ToArray();
        var digest = Digest.ComputeSha256(content);
        var id = UploadId.New();

        await store.CreateStagingAsync(id, default);
        Assert.Equal("0600", FileModes.Of(Path.Combine(root, "uploads", id)));
        await using (var stream = await store.OpenAppendAsync(id, default))
        {
            await stream.WriteAsync(content);
        }

        await store.CommitAsync(id, digest, default);

        var blob = Assert.IsType<BlobContent.LocalFile>(await store.OpenAsync(digest, default));
        Assert.Equal("0600", FileModes.Of(blob.Path));
        foreach (var directory in new[] { root, Path.Combine(root, "uploads"), Path.Combine(root, "blobs"), Path.Combine(root, "blobs", "sha256"), Path.GetDirectoryName(blob.Path)! })
        {
            Assert.Equal("0700", FileModes.Of(directory));
        }
    }

    [Theory]
    [InlineData("../../etc/passwd")]
    [InlineData("..")]
    [InlineData("0123456789abcdef0123456789abcde/")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF")]
    [InlineData("")]
    public async Task Upload_ids_that_are_not_ids_never_become_paths(string id)
    {
        await Assert.ThrowsAsync<ArgumentException>(() => _store.CreateStagingAsync(id, default));
        await Assert.ThrowsAsync<ArgumentException>(() => _store.OpenAppendAsync(id, default));
    }

    [Fact]
    public async Task Unregistered_digest_algorithms_never_become_paths()
    {
        Assert.True(Digest.TryParse("md5:d41d8cd98f00b204e9800998ecf8427e", out var digest, out _));

        await Assert.ThrowsAsync<ArgumentException>(() => _store.StatAsync(digest, default));
    }

    [Fact]
    public async Task The_buffered_writer_keeps_every_byte()
    {
        // The path taken on filesystems without direct I/O.
        var path = Path.Combine(_root, "buffered");
        var content = new byte[20 * 1024 * 1024 + 5];
        Random.Shared.NextBytes(content);
        await using (var stream = new WritebackStream(new FileStream(path, FileMode.CreateNew, FileAccess.Write)))
        {
            for (var offset = 0; offset < content.Length; offset += 300_000)
            {
                await stream.WriteAsync(content.AsMemory(offset, Math.Min(300_000, content.Length - offset)));
            }
        }

        Assert.Equal(content, await File.ReadAllBytesAsync(path));
    }

    [Fact]
    public async Task The_probe_passes_on_a_writable_blob_directory_leaves_nothing_and_fails_without_it()
    {
        await _store.ProbeAsync(default);
        var blobs = Path.Combine(_root, "blobs");
        Assert.Empty(Directory.EnumerateFileSystemEntries(blobs));

        Directory.Delete(blobs);

        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => _store.ProbeAsync(default));
    }
}
