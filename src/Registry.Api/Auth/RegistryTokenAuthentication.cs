using System.Buffers.Text;
using System.Security.Claims;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Registry.Api.Identity;
using Registry.Core.Access;

namespace Registry.Api.Auth;

/// <summary>
/// Validates the registry's own tokens on /v2 with JwtBearer: signature against the current and recently retired
/// keys, issuer, audience, and lifetime against the registry's clock. The token's <c>access</c> list becomes one
/// <see cref="AccessClaimType"/> claim per granted scope.
/// </summary>
public static class RegistryTokenAuthentication
{
    public const string Scheme = "RegistryToken";
    public const string AccessClaimType = "registry.access";
    public const string SubjectClaimType = JwtRegisteredClaimNames.Sub;

    private static readonly object ExpiredPrincipalKey = new();

    public static AuthenticationBuilder AddRegistryTokens(this AuthenticationBuilder builder)
    {
        builder.AddJwtBearer(Scheme, _ => { });
        builder.Services.AddOptions<JwtBearerOptions>(Scheme).Configure<SigningKeys, IOptions<AuthOptions>, TimeProvider>((o, keys, auth, time) =>
        {
            o.MapInboundClaims = false;
            o.TimeProvider = time;
            o.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = auth.Value.Issuer,
                ValidAudience = auth.Value.Service,
                ValidAlgorithms = [SigningKeys.Algorithm],
                IssuerSigningKeyResolver = (_, _, kid, _) => keys.Resolve(kid),
                NameClaimType = SubjectClaimType,

                // Lifetime is checked in OnTokenValidated, against the registry's TimeProvider, so that an upload
                // session can still accept its owner's expired token.
                ValidateLifetime = false,
            };
            o.Events = new JwtBearerEvents
            {
                OnTokenValidated = OnTokenValidated,

                // The distribution API writes its own challenge in its own error format.
                OnChallenge = context =>
                {
                    context.HandleResponse();
                    return Task.CompletedTask;
                },
            };
        });
        return builder;
    }

    /// <summary>
    /// The principal of a well-signed token that has expired, if the request carried one. Only upload sessions
    /// accept it, and only from the user who started them.
    /// </summary>
    public static ClaimsPrincipal? ExpiredPrincipal(HttpContext context) =>
        context.Items.TryGetValue(ExpiredPrincipalKey, out var value) ? value as ClaimsPrincipal : null;

    /// <summary>The scopes a validated token grants.</summary>
    public static IEnumerable<AccessScope> Grants(ClaimsPrincipal principal) =>
        principal.FindAll(AccessClaimType).Select(c => AccessScope.TryParse(c.Value, out var scope) ? scope : null).OfType<AccessScope>();

    private static Task OnTokenValidated(TokenValidatedContext context)
    {
        if (context.SecurityToken is not JsonWebToken token || context.Principal?.Identity is not ClaimsIdentity identity)
        {
            context.Fail("unexpected token type");
            return Task.CompletedTask;
        }

        // The access list is an array of objects; the handler flattens it, so it is read from the payload itself.
        foreach (var scope in ReadAccess(token))
        {
            identity.AddClaim(new Claim(AccessClaimType, scope.ToString()));
        }

        var now = context.Options.TimeProvider?.GetUtcNow() ?? DateTimeOffset.UtcNow;
        if (token.ValidFrom > now.UtcDateTime + TokenIssuer.ClockSkew)
        {
            context.Fail("the token is not valid yet");
        }
        else if (token.ValidTo == DateTime.MinValue || token.ValidTo < now.UtcDateTime - TokenIssuer.ClockSkew)
        {
            context.HttpContext.Items[ExpiredPrincipalKey] = context.Principal;
            context.Fail("the token has expired");
        }

        return Task.CompletedTask;
    }

    private static List<AccessScope> ReadAccess(JsonWebToken token)
    {
        var scopes = new List<AccessScope>();
        using var payload = JsonDocument.Parse(Base64Url.DecodeFromChars(token.EncodedPayload));
        if (!payload.RootElement.TryGetProperty(TokenIssuer.AccessClaim, out var access) || access.ValueKind != JsonValueKind.Array)
        {
            return scopes;
        }

        foreach (var entry in access.EnumerateArray())
        {
            if (entry.ValueKind == JsonValueKind.Object
                && entry.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String
                && entry.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
                && entry.TryGetProperty("actions", out var actions) && actions.ValueKind == JsonValueKind.Array)
            {
                var names = actions.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.String).Select(a => a.GetString()!).ToList();
                if (names.Count > 0)
                {
                    scopes.Add(new AccessScope(type.GetString()!, name.GetString()!, names));
                }
            }
        }

        return scopes;
    }
}
