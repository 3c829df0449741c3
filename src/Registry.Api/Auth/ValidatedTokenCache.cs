using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.IdentityModel.JsonWebTokens;
using Registry.Api.Hosting;

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

    private readonly ExpiringCache<string, ClaimsPrincipal> _entries = new(Capacity, time, StringComparer.Ordinal);

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
        if (_entries.TryGet(token, out var principal))
        {
            return AuthenticateResult.Success(new AuthenticationTicket(principal, RegistryTokenAuthentication.Scheme));
        }

        var result = await context.AuthenticateAsync(RegistryTokenAuthentication.Scheme);
        if (result.Succeeded && ExpiryOf(result.Principal) is { } expires && expires > time.GetUtcNow())
        {
            _entries.Set(token, result.Principal, expires);
        }

        return result;
    }

    private static DateTimeOffset? ExpiryOf(ClaimsPrincipal principal) =>
        long.TryParse(principal.FindFirst(JwtRegisteredClaimNames.Exp)?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? DateTimeOffset.FromUnixTimeSeconds(seconds)
            : null;
}
