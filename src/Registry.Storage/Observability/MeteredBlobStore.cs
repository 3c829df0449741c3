using System.Runtime.CompilerServices;
using Registry.Core;
using Registry.Storage.Blobs;

namespace Registry.Storage.Observability;

/// <summary>
/// Counts the failures of a blob store by operation (<see cref="IStorageMetrics.StorageError"/>) and passes every call
/// through unchanged; the exception reaches the caller as it was thrown. What callers expect as an answer is not a
/// failure: a missing staged object (<see cref="FileNotFoundException"/>), a cancelled request, a refusal of the
/// registry's own (<see cref="RegistryException"/>), and, when an append is opened, the <see cref="IOException"/> that
/// says another request holds the upload. Writes to an opened append stream are counted too, as <c>append</c>.
/// </summary>
public sealed class MeteredBlobStore(IBlobStore inner, IStorageMetrics metrics) : IBlobStore
{
    public Task<BlobStat?> StatAsync(Digest digest, CancellationToken cancellationToken) =>
        Run("stat", () => inner.StatAsync(digest, cancellationToken));

    public Task<BlobContent?> OpenAsync(Digest digest, CancellationToken cancellationToken) =>
        Run("open", () => inner.OpenAsync(digest, cancellationToken));

    public Task DeleteAsync(Digest digest, CancellationToken cancellationToken) =>
        Run("delete", () => inner.DeleteAsync(digest, cancellationToken));

    public IAsyncEnumerable<StoredBlob> ListAsync(CancellationToken cancellationToken) =>
        Enumerate("list", inner.ListAsync(cancellationToken), cancellationToken);

    public Task CreateStagingAsync(string uploadId, CancellationToken cancellationToken) =>
        Run("create_staging", () => inner.CreateStagingAsync(uploadId, cancellationToken));

    public Task<long?> GetStagedLengthAsync(string uploadId, CancellationToken cancellationToken) =>
        Run("staged_length", () => inner.GetStagedLengthAsync(uploadId, cancellationToken));

    public async Task<Stream> OpenAppendAsync(string uploadId, CancellationToken cancellationToken)
    {
        try
        {
            return new MeteredStream(await inner.OpenAppendAsync(uploadId, cancellationToken), this);
        }
        catch (Exception e) when (e is not IOException && Record("append", e))
        {
            throw;
        }
    }

    public Task<Stream> OpenStagedReadAsync(string uploadId, CancellationToken cancellationToken) =>
        Run("staged_read", () => inner.OpenStagedReadAsync(uploadId, cancellationToken));

    public Task TruncateStagedAsync(string uploadId, long length, CancellationToken cancellationToken) =>
        Run("truncate", () => inner.TruncateStagedAsync(uploadId, length, cancellationToken));

    public Task CommitAsync(string uploadId, Digest digest, CancellationToken cancellationToken) =>
        Run("commit", () => inner.CommitAsync(uploadId, digest, cancellationToken));

    public Task DeleteStagingAsync(string uploadId, CancellationToken cancellationToken) =>
        Run("delete_staging", () => inner.DeleteStagingAsync(uploadId, cancellationToken));

    public IAsyncEnumerable<string> ListStagingAsync(DateTime olderThan, CancellationToken cancellationToken) =>
        Enumerate("list_staging", inner.ListStagingAsync(olderThan, cancellationToken), cancellationToken);

    /// <summary>Counts <paramref name="e"/> when it is a failure of the store; always false, so that it is never caught here.</summary>
    internal bool Record(string operation, Exception e)
    {
        if (e is not (OperationCanceledException or FileNotFoundException or RegistryException))
        {
            metrics.StorageError(operation);
        }

        return false;
    }

    private async Task<T> Run<T>(string operation, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (Exception e) when (Record(operation, e))
        {
            throw;
        }
    }

    private async Task Run(string operation, Func<Task> call)
    {
        try
        {
            await call();
        }
        catch (Exception e) when (Record(operation, e))
        {
            throw;
        }
    }

    private async IAsyncEnumerable<T> Enumerate<T>(string operation, IAsyncEnumerable<T> source, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var enumerator = source.GetAsyncEnumerator(cancellationToken);
        await using (enumerator)
        {
            while (true)
            {
                try
                {
                    if (!await enumerator.MoveNextAsync())
                    {
                        yield break;
                    }
                }
                catch (Exception e) when (Record(operation, e))
                {
                    throw;
                }

                yield return enumerator.Current;
            }
        }
    }

    /// <summary>An append stream whose failed writes, flushes and closes (where S3 parts are sent) are counted.</summary>
    private sealed class MeteredStream(Stream inner, MeteredBlobStore store) : Stream
    {
        private bool _disposed;

        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => inner.CanSeek;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => inner.Length;

        public override long Position
        {
            get => inner.Position;
            set => inner.Position = value;
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => inner.Seek(offset, origin);

        public override void SetLength(long value) => inner.SetLength(value);

        public override void Write(byte[] buffer, int offset, int count)
        {
            try
            {
                inner.Write(buffer, offset, count);
            }
            catch (Exception e) when (store.Record("append", e))
            {
                throw;
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            try
            {
                await inner.WriteAsync(buffer, cancellationToken);
            }
            catch (Exception e) when (store.Record("append", e))
            {
                throw;
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
            try
            {
                inner.Flush();
            }
            catch (Exception e) when (store.Record("append", e))
            {
                throw;
            }
        }

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            try
            {
                await inner.FlushAsync(cancellationToken);
            }
            catch (Exception e) when (store.Record("append", e))
            {
                throw;
            }
        }

        public override async ValueTask DisposeAsync()
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            try
            {
                await inner.DisposeAsync();
            }
            catch (Exception e) when (store.Record("append", e))
            {
                throw;
            }

            await base.DisposeAsync();
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing && !_disposed)
            {
                _disposed = true;
                try
                {
                    inner.Dispose();
                }
                catch (Exception e) when (store.Record("append", e))
                {
                    throw;
                }
            }

            base.Dispose(disposing);
        }
    }
}
