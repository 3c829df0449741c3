using System.Globalization;
using System.Security.Claims;
using Registry.Api.Auth;
using Registry.Api.Identity;
using Registry.Core;
using Registry.Core.Access;

namespace Registry.Api.Access;

/// <summary>
/// Allows what the caller's registry token grants. When the token does not grant it, the metadata store decides
/// between "ask for a token with this scope" (the user may do it) and "denied" (the user may not), so that
/// clients fetch a new token when that helps and show "denied" when it would not.
/// </summary>
public sealed class TokenAccessAuthorizer(CredentialService credentials, PermissionService permissions) : IAccessAuthorizer
{
    public async ValueTask<AccessDecision> AuthorizeAsync(ClaimsPrincipal caller, AccessRequest request, CancellationToken cancellationToken)
    {
        if (caller.Identity?.IsAuthenticated != true)
        {
            return AccessDecision.Unauthenticated;
        }

        if (Covers(RegistryTokenAuthentication.Grants(caller), request))
        {
            return AccessDecision.Allowed;
        }

        // Anonymous tokens carry no subject: signing in is what would help.
        var name = caller.FindFirst(RegistryTokenAuthentication.SubjectClaimType)?.Value;
        if (name is null)
        {
            return AccessDecision.Unauthenticated;
        }

        var tokenId = long.TryParse(caller.FindFirst(TokenIssuer.TokenIdClaim)?.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var id) ? id : (long?)null;
        var user = await credentials.FindCallerAsync(name, tokenId, cancellationToken);
        if (user is null)
        {
            return AccessDecision.Unauthenticated;
        }

        var permitted = request.IsCatalog
            ? user.MayListCatalog
            : (await permissions.GetRepositoryActionsAsync(user, request.Name, cancellationToken) & request.Actions) == request.Actions;
        return permitted ? AccessDecision.InsufficientScope : AccessDecision.Denied;
    }

    private static bool Covers(IEnumerable<AccessScope> grants, AccessRequest request)
    {
        if (request.IsCatalog)
        {
            return grants.Any(g => g.Type == AccessScope.RegistryType && g.Name == AccessScope.CatalogName && g.Actions.Contains("*"));
        }

        var granted = grants
            .Where(g => g.Type == AccessScope.RepositoryType && string.Equals(g.Name, request.Name, StringComparison.Ordinal))
            .Aggregate(RegistryAction.None, (all, g) => all | g.RepositoryActions);
        return (granted & request.Actions) == request.Actions;
    }
}
