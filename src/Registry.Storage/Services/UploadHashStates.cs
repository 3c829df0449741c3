using System.Collections.Concurrent;
using Registry.Storage.Uploads;

namespace Registry.Storage.Services;

/// <summary>
/// SHA-256 states of uploads in progress, so that a chunked upload is hashed once as its bytes
/// arrive. The state is only a shortcut: it is used when its offset equals the staged length; otherwise
/// the state another process saved in the upload's row is resumed, or the staged bytes are hashed again
/// (after a restart, after a failed chunk), so losing it costs time, never correctness. Each upload also has a lock that serialises
/// its requests within this process.
/// </summary>
public sealed class UploadHashStates : IDisposable
{
    /// <summary>Beyond this many uploads in flight the oldest states are dropped (and rebuilt if needed).</summary>
    private const int MaxEntries = 4096;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    public async Task<Lease> AcquireAsync(string uploadId, CancellationToken cancellationToken)
    {
        var entry = _entries.GetOrAdd(uploadId, static _ => new Entry());
        await entry.Gate.WaitAsync(cancellationToken);
        return new Lease(this, uploadId, entry);
    }

    public void Forget(string uploadId)
    {
        if (_entries.TryRemove(uploadId, out var entry))
        {
            entry.Hash?.Dispose();
            entry.Hash = null;
        }
    }

    public void Dispose()
    {
        foreach (var key in _entries.Keys)
        {
            Forget(key);
        }
    }

    private void Trim()
    {
        if (_entries.Count <= MaxEntries)
        {
            return;
        }

        foreach (var (key, entry) in _entries.OrderBy(e => e.Value.LastUsed).Take(_entries.Count - MaxEntries))
        {
            if (entry.Gate.CurrentCount > 0)
            {
                Forget(key);
            }
        }
    }

    internal sealed class Entry
    {
        public SemaphoreSlim Gate { get; } = new(1, 1);

        public UploadHash? Hash { get; set; }

        public long Offset { get; set; }

        public long LastUsed { get; set; } = Environment.TickCount64;
    }

    /// <summary>Exclusive use of one upload's hash state until disposed.</summary>
    public sealed class Lease : IDisposable
    {
        private readonly UploadHashStates _owner;
        private readonly string _uploadId;
        private readonly Entry _entry;

        internal Lease(UploadHashStates owner, string uploadId, Entry entry)
        {
            _owner = owner;
            _uploadId = uploadId;
            _entry = entry;
        }

        /// <summary>The SHA-256 state covering exactly the first <paramref name="offset"/> bytes, or null.</summary>
        public UploadHash? TryTake(long offset)
        {
            var hash = _entry.Hash;
            _entry.Hash = null;
            if (hash is not null && _entry.Offset == offset)
            {
                return hash;
            }

            hash?.Dispose();
            return null;
        }

        public void Keep(UploadHash hash, long offset)
        {
            _entry.Hash?.Dispose();
            _entry.Hash = hash;
            _entry.Offset = offset;
            _entry.LastUsed = Environment.TickCount64;
        }

        public void Dispose()
        {
            _entry.Gate.Release();
            _owner.Trim();
        }
    }
}
