using System.Globalization;
using System.Security.Claims;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Registry.Api.Identity;

/// <summary>
/// Whom a registry token was issued to, as its claims say: the user's name (<c>sub</c>) and id (<c>uid</c>), the
/// personal access token it was obtained with (<c>tid</c>), or else a stamp of the password (<c>pst</c>). Checked
/// against the metadata store, it tells whether the credential behind the token still stands. A node's pull token
/// names the node (<c>nid</c>): it stands while the node exists, and is never a user's.
/// </summary>
public sealed record TokenSubject(string Name, long? UserId, long? TokenId, string? PasswordStamp, long? NodeId = null)
{
    public bool IsNode => NodeId is not null;

    /// <summary>The subject of a validated token; null for an anonymous token, which names nobody.</summary>
    public static TokenSubject? Of(ClaimsPrincipal principal)
    {
        string? name = null, userId = null, tokenId = null, stamp = null, nodeId = null;
        foreach (var claim in principal.Claims)
        {
            switch (claim.Type)
            {
                case JwtRegisteredClaimNames.Sub: name = claim.Value; break;
                case TokenIssuer.UserIdClaim: userId = claim.Value; break;
                case TokenIssuer.TokenIdClaim: tokenId = claim.Value; break;
                case TokenIssuer.PasswordStampClaim: stamp = claim.Value; break;
                case TokenIssuer.NodeIdClaim: nodeId = claim.Value; break;
            }
        }

        if (name is null)
        {
            return null;
        }

        // Either claim makes it a node's token; one without the node's id names no node, and so stands for nothing.
        var node = ParseId(nodeId);
        if (node is not null || name.StartsWith(TokenIssuer.NodeSubjectPrefix, StringComparison.Ordinal))
        {
            return new TokenSubject(name, null, null, null, node ?? -1);
        }

        return new TokenSubject(name, ParseId(userId), ParseId(tokenId), stamp);
    }

    private static long? ParseId(string? value) =>
        long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : null;
}
