using Registry.Core;
using Registry.Storage.Blobs;
using Registry.Storage.Observability;

namespace Registry.Storage.Tests;

/// <summary>The metered store counts the store's failures by operation, and not the answers callers expect.</summary>
public sealed class MeteredBlobStoreTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "registry-metered-tests", Guid.NewGuid().ToString("N"));
    private readonly RecordingMetrics _metrics = new();
    private readonly MeteredBlobStore _store;

    public MeteredBlobStoreTests() => _store = new MeteredBlobStore(new FileSystemBlobStore(_root), _metrics);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Failures_are_counted_by_operation_and_rethrown_unchanged()
    {
        Directory.Delete(Path.Combine(_root, "blobs"));

        await Assert.ThrowsAsync<DirectoryNotFoundException>(async () =>
        {
            await foreach (var _ in _store.ListAsync(default))
            {
            }
        });
        Directory.Delete(Path.Combine(_root, "uploads"));
        await Assert.ThrowsAsync<DirectoryNotFoundException>(() => _store.CreateStagingAsync(UploadId.New(), default));

        Assert.Equal(["list", "create_staging"], _metrics.Errors);
    }

    [Fact]
    public async Task Missing_objects_and_a_held_upload_are_not_failures()
    {
        var id = UploadId.New();
        await _store.CreateStagingAsync(id, default);

        Assert.Null(await _store.StatAsync(Digest.ComputeSha256([1]), default));
        await Assert.ThrowsAsync<FileNotFoundException>(() => _store.OpenStagedReadAsync(UploadId.New(), default));
        await using (var held = await _store.OpenAppendAsync(id, default))
        {
            await held.WriteAsync(new byte[] { 1, 2, 3 });
            await Assert.ThrowsAnyAsync<IOException>(() => _store.OpenAppendAsync(id, default));
        }

        Assert.Equal(3, await _store.GetStagedLengthAsync(id, default));
        Assert.Empty(_metrics.Errors);
    }

    private sealed class RecordingMetrics : IStorageMetrics
    {
        public List<string> Errors { get; } = [];

        public void BytesReceived(long bytes)
        {
        }

        public void ChunkStored(TimeSpan elapsed)
        {
        }

        public void UploadCommitted(TimeSpan elapsed)
        {
        }

        public void BytesRehashed(long bytes)
        {
        }

        public void StorageError(string operation) => Errors.Add(operation);
    }
}
