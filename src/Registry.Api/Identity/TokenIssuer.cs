using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using Registry.Core.Access;

namespace Registry.Api.Identity;

/// <summary>A registry token and what it says.</summary>
public sealed record IssuedToken(string Token, DateTimeOffset IssuedAt, int ExpiresIn);

/// <summary>
/// Issues the registry's JWTs: <c>iss</c>, <c>aud</c> (the service), <c>sub</c> and <c>uid</c> (the user's name and
/// id; absent for anonymous callers), <c>iat</c>/<c>nbf</c>/<c>exp</c>, <c>jti</c>, <c>tid</c> (the personal access
/// token used, if any) or <c>pst</c> (a stamp of the password used), and <c>access</c>, the list of granted scopes.
/// A node's pull token names the node instead: <c>sub</c> is <c>node:NAME</c> and <c>nid</c> its id.
/// Signed with the current key, whose id is the header's <c>kid</c>.
/// </summary>
public sealed class TokenIssuer(SigningKeys keys, IOptions<AuthOptions> options, TimeProvider time)
{
    /// <summary>How far clocks of replicas and clients may disagree.</summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromSeconds(30);

    public const string AccessClaim = "access";
    public const string TokenIdClaim = "tid";
    public const string UserIdClaim = "uid";
    public const string PasswordStampClaim = "pst";
    public const string NodeIdClaim = "nid";

    /// <summary>What a node's token says in <c>sub</c> before the node's name; no account name has a colon.</summary>
    public const string NodeSubjectPrefix = "node:";

    private static readonly JsonWebTokenHandler Handler = new() { SetDefaultTimesOnTokenCreation = false };

    public IssuedToken Issue(Caller? caller, IReadOnlyList<AccessScope> granted)
    {
        var claims = new Dictionary<string, object>(StringComparer.Ordinal);
        if (caller is not null)
        {
            claims[JwtRegisteredClaimNames.Sub] = caller.Name;
            claims[UserIdClaim] = caller.UserId;
            if (caller.Token is { } limit)
            {
                claims[TokenIdClaim] = limit.TokenId;
            }
            else if (caller.PasswordStamp is { } stamp)
            {
                claims[PasswordStampClaim] = stamp;
            }
        }

        return Sign(claims, granted, options.Value.TokenLifetime);
    }

    /// <summary>
    /// A token for a node to pull one container's image with: pull on exactly that repository, for
    /// <paramref name="lifetime"/>. What it allows is checked again on every request against the node's containers.
    /// </summary>
    public IssuedToken IssueForNode(long nodeId, string nodeName, string repository, TimeSpan lifetime)
    {
        var claims = new Dictionary<string, object>(StringComparer.Ordinal)
        {
            [JwtRegisteredClaimNames.Sub] = NodeSubjectPrefix + nodeName,
            [NodeIdClaim] = nodeId,
        };
        return Sign(claims, [AccessScope.Repository(repository, Core.RegistryAction.Pull)], lifetime);
    }

    private IssuedToken Sign(Dictionary<string, object> claims, IReadOnlyList<AccessScope> granted, TimeSpan lifetime)
    {
        var settings = options.Value;
        var now = time.GetUtcNow();

        // Whole seconds: the JWT's times are, and issued_at must match what the token says.
        now = DateTimeOffset.FromUnixTimeSeconds(now.ToUnixTimeSeconds());
        claims[JwtRegisteredClaimNames.Jti] = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        claims[AccessClaim] = granted
            .Select(s => new Dictionary<string, object> { ["type"] = s.Type, ["name"] = s.Name, ["actions"] = s.Actions.ToList() })
            .ToList();

        var token = Handler.CreateToken(new SecurityTokenDescriptor
        {
            Issuer = settings.Issuer,
            Audience = settings.Service,
            IssuedAt = now.UtcDateTime,
            NotBefore = now.UtcDateTime,
            Expires = (now + lifetime).UtcDateTime,
            Claims = claims,
            SigningCredentials = keys.Current,
        });
        return new IssuedToken(token, now, (int)Math.Max(60, lifetime.TotalSeconds));
    }
}
