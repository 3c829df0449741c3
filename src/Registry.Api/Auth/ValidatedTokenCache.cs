using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Registry.Api.Auth;

/// <summary>
/// Remembers registry tokens that JwtBearer has validated, until they expire, so that a client sending the same
/// token on every request (as they all do) pays for the signature check once. Validation is a pure function of
/// the token, the keys and the clock, and a key verifies until every token it signed has expired, so a cached
/// answer is the answer validation would give. The cache is bounded; when full, expired entries go first, then all.
/// </summary>
public sealed class ValidatedTokenCache(TimeProvider time)
{
    public const int Capacity = 10_000;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Authenticates the request's registry token, from the cache when it was validated before.</summary>
    public async Task<AuthenticateResult> AuthenticateAsync(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        const string Prefix = "Bearer ";
        if (!header.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return await context.AuthenticateAsync(RegistryTokenAuthentication.Scheme);
        }

        var token = header[Prefix.Length..].Trim();
        var now = time.GetUtcNow();
        if (_entries.TryGetValue(token, out var cached))
        {
            if (cached.Expires > now)
            {
                return AuthenticateResult.Success(new AuthenticationTicket(cached.Principal, RegistryTokenAuthentication.Scheme));
            }

            _entries.TryRemove(token, out _);
        }

        var result = await context.AuthenticateAsync(RegistryTokenAuthentication.Scheme);
        if (result.Succeeded && ExpiryOf(result.Principal) is { } expires && expires > now)
        {
            if (_entries.Count >= Capacity)
            {
                Evict(now);
            }

            _entries[token] = new Entry(result.Principal, expires);
        }

        return result;
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

    private static DateTimeOffset? ExpiryOf(ClaimsPrincipal principal) =>
        long.TryParse(principal.FindFirst(JwtRegisteredClaimNames.Exp)?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;

    private sealed record Entry(ClaimsPrincipal Principal, DateTimeOffset Expires);
}
