using System.Diagnostics.CodeAnalysis;
using Microsoft.Extensions.Options;
using Registry.Api.Hosting;
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

    private readonly ExpiringCache<Key, CurrentAccess> _entries = new(Capacity, time);

    /// <summary>The remembered answer, if it is fresh and allows <paramref name="request"/>.</summary>
    public bool TryGet(TokenSubject? subject, AccessRequest request, [NotNullWhen(true)] out CurrentAccess? access)
    {
        access = null;
        if (options.Value.PermissionCacheDuration <= TimeSpan.Zero
            || !_entries.TryGet(new Key(subject, request.ResourceType, request.Name), out var cached)
            || !cached.Permits(request.Actions))
        {
            return false;
        }

        access = cached;
        return true;
    }

    public void Set(TokenSubject? subject, AccessRequest request, CurrentAccess access)
    {
        var duration = options.Value.PermissionCacheDuration;
        if (duration <= TimeSpan.Zero)
        {
            return;
        }

        _entries.Set(new Key(subject, request.ResourceType, request.Name), access, time.GetUtcNow() + duration);
    }

    private readonly record struct Key(TokenSubject? Subject, string ResourceType, string Name);
}
