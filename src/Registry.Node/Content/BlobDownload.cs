using System.Buffers;
using Registry.Core;
using Registry.Core.Manifests;
using Registry.Node.Client;

namespace Registry.Node.Content;

/// <summary>
/// One blob's way into the <see cref="ContentStore"/>: lock the partial file, hash what it
/// already holds, fetch the rest with a Range request, verify size and digest, rename into place.
/// Network failures are retried a bounded number of times, each attempt resuming where the last
/// stopped; a digest mismatch is never retried from the same bytes.
/// </summary>
internal sealed class BlobDownload
{
    private const int BufferSize = 128 * 1024;

    private readonly ContentStore _store;
    private readonly Descriptor _descriptor;
    private readonly IBlobSource _source;
    private readonly IPullProgress? _progress;
    private readonly string _target;
    private readonly string _partial;
    private long _downloaded;
    private long _resumedFrom = -1;

    public BlobDownload(ContentStore store, Descriptor descriptor, IBlobSource source, IPullProgress? progress)
    {
        _store = store;
        _descriptor = descriptor;
        _source = source;
        _progress = progress;
        _target = store.BlobPath(descriptor.Digest);
        _partial = _target + ContentStore.PartialSuffix;
    }

    private Digest Digest => _descriptor.Digest;

    private long Size => _descriptor.Size;

    public async Task<BlobFetch> RunAsync(CancellationToken cancellationToken)
    {
        if (TryExisting() is { } existing)
        {
            return existing;
        }

        Files.NodeFiles.CreatePrivateDirectory(Path.GetDirectoryName(_target)!);
        var file = await _store.LockPartialAsync(_partial, cancellationToken).ConfigureAwait(false);
        await using (file.ConfigureAwait(false))
        {
            // Another pull may have finished this blob while we waited for its lock.
            if (TryExisting() is { } finished)
            {
                File.Delete(_partial);
                return finished;
            }

            try
            {
                return await DownloadAsync(file, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                Report(BlobState.Failed, file.Length, e.Message);
                throw;
            }
        }
    }

    private BlobFetch? TryExisting()
    {
        var info = new FileInfo(_target);
        if (!info.Exists)
        {
            return null;
        }

        if (info.Length != Size)
        {
            // Not what a verified rename could have produced: someone changed the file. Fetch it again.
            File.Delete(_target);
            return null;
        }

        _store.Touch(_target);
        Report(BlobState.AlreadyExists, Size);
        return new BlobFetch(Digest, Size, AlreadyPresent: true, ResumedFrom: 0, BytesDownloaded: 0);
    }

    private async Task<BlobFetch> DownloadAsync(FileStream file, CancellationToken cancellationToken)
    {
        var restartedFromScratch = false;
        for (var attempt = 1; ; attempt++)
        {
            using var hash = ContentStore.CreateHash(Digest);
            var have = file.Length > Size ? 0 : file.Length;
            file.SetLength(have);
            await HashExistingAsync(file, hash, have, cancellationToken).ConfigureAwait(false);
            var startedFromPartial = have > 0 && attempt == 1;
            if (_resumedFrom < 0)
            {
                _resumedFrom = have;
            }

            Report(BlobState.Downloading, have);
            Exception? transient = null;
            if (have < Size)
            {
                try
                {
                    have = await ReceiveAsync(file, hash, have, cancellationToken).ConfigureAwait(false);
                }
                catch (RegistryClientException e) when (e.StatusCode == 416 && have > 0)
                {
                    // The registry will not serve from our offset: our partial file is not a prefix of this blob.
                    file.SetLength(0);
                    continue;
                }
                catch (Exception e) when (IsTransient(e, cancellationToken) && attempt < _store.MaxAttempts)
                {
                    transient = e;
                }
            }

            if (transient is not null || have < Size)
            {
                // Keep what arrived; the next attempt resumes from it.
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                if (attempt >= _store.MaxAttempts)
                {
                    throw new RegistryClientException($"blob {Digest} from {_source.Name}: the registry sent {have} of {Size} bytes");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250 * attempt), _store.Time, cancellationToken).ConfigureAwait(false);
                continue;
            }

            var actual = Digest.FromHash(Digest.Algorithm, hash.GetHashAndReset());
            if (actual != Digest && startedFromPartial && !restartedFromScratch)
            {
                // The bytes left by an earlier (perhaps crashed) download may be the bad ones: start over once.
                restartedFromScratch = true;
                file.SetLength(0);
                _resumedFrom = 0;
                continue;
            }

            if (actual != Digest)
            {
                file.SetLength(0);
                File.Delete(_partial);
                throw new DigestMismatchException($"blob {Digest} from {_source.Name}", Digest, actual.ToString());
            }

            await file.FlushAsync(cancellationToken).ConfigureAwait(false);
            file.Flush(flushToDisk: true);
            // Renamed while we still hold the lock, so no other download can reopen the partial file in between.
            File.Move(_partial, _target, overwrite: true);
            Report(BlobState.Complete, Size);
            return new BlobFetch(Digest, Size, AlreadyPresent: false, ResumedFrom: _resumedFrom, BytesDownloaded: _downloaded);
        }
    }

    /// <summary>Fetches from <paramref name="have"/> to the end; returns how many bytes the file holds then.</summary>
    private async Task<long> ReceiveAsync(FileStream file, System.Security.Cryptography.IncrementalHash hash, long have, CancellationToken cancellationToken)
    {
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(_store.IdleTimeout);
        using var response = await _source.OpenAsync(Digest, have, idle.Token).ConfigureAwait(false);
        if (response.Offset != have)
        {
            // The registry ignored the Range request and sent the blob from its start.
            if (response.Offset != 0)
            {
                throw new RegistryClientException($"blob {Digest}: asked for bytes from {have}, the registry sent them from {response.Offset}");
            }

            file.SetLength(0);
            hash.GetHashAndReset();
            have = 0;
        }

        file.Position = have;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                idle.CancelAfter(_store.IdleTimeout);
                var read = await response.Content.ReadAsync(buffer.AsMemory(0, BufferSize), idle.Token).ConfigureAwait(false);
                if (read == 0)
                {
                    return have;
                }

                if (have + read > Size)
                {
                    file.SetLength(0);
                    File.Delete(_partial);
                    throw new DigestMismatchException($"blob {Digest} from {_source.Name}", Digest, $"more than the {Size} bytes of its descriptor");
                }

                hash.AppendData(buffer, 0, read);
                await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                have += read;
                _downloaded += read;
                Report(BlobState.Downloading, have);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static async Task HashExistingAsync(FileStream file, System.Security.Cryptography.IncrementalHash hash, long length, CancellationToken cancellationToken)
    {
        file.Position = 0;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            var remaining = length;
            while (remaining > 0)
            {
                var read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(BufferSize, remaining)), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                hash.AppendData(buffer, 0, read);
                remaining -= read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Network trouble and idle timeouts are worth another attempt; our own cancellation and bad content are not.</summary>
    private static bool IsTransient(Exception e, CancellationToken cancellationToken) => e switch
    {
        DigestMismatchException or RegistryUnauthorizedException => false,
        OperationCanceledException => !cancellationToken.IsCancellationRequested,
        RegistryClientException r => r.StatusCode is null or >= 500 or 429,
        HttpRequestException or IOException => true,
        _ => false,
    };

    private void Report(BlobState state, long done, string? error = null) =>
        _progress?.Report(new BlobProgress(Digest, state, done, Size, Math.Max(_resumedFrom, 0), error));
}
