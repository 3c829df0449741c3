using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;
using Registry.Api.Identity;
using Registry.Core;

namespace Registry.Api.Access;

/// <summary>
/// What the holder of a registry token may do on one resource now, as the metadata store says: whether the
/// credential behind the token still stands, and the actions its user may take there.
/// </summary>
public sealed record CurrentAccess(bool CredentialValid, RegistryAction Actions)
{
    public static readonly CurrentAccess Revoked = new(false, RegistryAction.None);

    public bool Permits(RegistryAction actions) => CredentialValid && (Actions & actions) == actions;
}

/// <summary>
/// Remembers <see cref="CurrentAccess"/> per (token subject, resource) for <see cref="AuthOptions.PermissionCacheDuration"/>,
/// so that a client sending many requests with one token costs one lookup per repository every few seconds, and a
/// revocation reaches every replica within that time. Each replica has its own; the store is the only shared state.
/// A remembered answer is trusted only to allow: a refusal is checked against the store again, so access granted a
/// moment ago (a promotion, a repository made public) works at once. Bounded: when full, expired entries go first,
/// then all.
/// </summary>
public sealed class CurrentAccessCache(IOptions<AuthOptions> options, TimeProvider time)
{
    public const int Capacity = 50_000;

    private readonly ConcurrentDictionary<Key, Entry> _entries = new();

    /// <summary>The remembered answer, if it is fresh and allows <paramref name="request"/>.</summary>
    public bool TryGet(TokenSubject? subject, AccessRequest request, [NotNullWhen(true)] out CurrentAccess? access)
    {
        access = null;
        if (options.Value.PermissionCacheDuration <= TimeSpan.Zero
            || !_entries.TryGetValue(new Key(subject, request.ResourceType, request.Name), out var cached)
            || cached.Expires <= time.GetUtcNow()
            || !cached.Access.Permits(request.Actions))
        {
            return false;
        }

        access = cached.Access;
        return true;
    }

    public void Set(TokenSubject? subject, AccessRequest request, CurrentAccess access)
    {
        var duration = options.Value.PermissionCacheDuration;
        if (duration <= TimeSpan.Zero)
        {
            return;
        }

        var now = time.GetUtcNow();
        if (_entries.Count >= Capacity)
        {
            Evict(now);
        }

        _entries[new Key(subject, request.ResourceType, request.Name)] = new Entry(access, now + duration);
    }

    private void Evict(DateTimeOffset now)
    {
        foreach (var (key, entry) in _entries)
        {
            if (entry.Expires <= now)
            {
                _entries.TryRemove(key, out _);
            }
        }

        if (_entries.Count >= Capacity)
        {
            _entries.Clear();
        }
    }

    private readonly record struct Key(TokenSubject? Subject, string ResourceType, string Name);

    private sealed record Entry(CurrentAccess Access, DateTimeOffset Expires);
}
