using Microsoft.Extensions.Options;
using Registry.Api.Hosting;
using Registry.Api.Identity;
using Registry.Core.Access;

namespace Registry.Api.Auth;

/// <summary>
/// The <c>WWW-Authenticate: Bearer realm=…,service=…,scope=…</c> challenge of a 401 on /v2: where to get a token
/// and for which scopes. Several scopes (a mount's target and source) share one space-separated value.
/// </summary>
public static class RegistryChallenge
{
    public const string TokenPath = "/auth/token";

    public static void Set(HttpContext context, IReadOnlyCollection<AccessScope> scopes, bool insufficientScope)
    {
        var options = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value;
        var realm = options.Realm?.ToString() ?? PublicOrigin.Of(context) + TokenPath;
        var value = $"Bearer realm=\"{Quote(realm)}\",service=\"{Quote(options.Service)}\"";
        if (scopes.Count > 0)
        {
            value += $",scope=\"{Quote(string.Join(' ', scopes))}\"";
        }

        if (insufficientScope)
        {
            value += ",error=\"insufficient_scope\"";
        }

        context.Response.Headers.WWWAuthenticate = value;
    }

    // Names and URLs never hold quotes or backslashes once validated; escaping keeps the header well-formed anyway.
    private static string Quote(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}
