using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;

namespace Registry.Api.Hosting;

/// <summary>
/// A per-replica map whose entries expire on the registry's clock. It is bounded: when it is full, expired entries
/// go first, then all of them, so a flood of distinct keys costs memory up to the bound and never more.
/// </summary>
internal sealed class ExpiringCache<TKey, TValue>(int capacity, TimeProvider time, IEqualityComparer<TKey>? comparer = null)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, Entry> _entries = new(comparer);

    /// <summary>The value remembered under the key, if it has not expired; an expired one is dropped.</summary>
    public bool TryGet(TKey key, [MaybeNullWhen(false)] out TValue value)
    {
        if (_entries.TryGetValue(key, out var entry))
        {
            if (entry.Expires > time.GetUtcNow())
            {
                value = entry.Value;
                return true;
            }

            _entries.TryRemove(key, out _);
        }

        value = default;
        return false;
    }

    public void Set(TKey key, TValue value, DateTimeOffset expires)
    {
        if (_entries.Count >= capacity)
        {
            Evict();
        }

        _entries[key] = new Entry(value, expires);
    }

    private void Evict()
    {
        var now = time.GetUtcNow();
        foreach (var (key, entry) in _entries)
        {
            if (entry.Expires <= now)
            {
                _entries.TryRemove(key, out _);
            }
        }

        if (_entries.Count >= capacity)
        {
            _entries.Clear();
        }
    }

    private sealed record Entry(TValue Value, DateTimeOffset Expires);
}
