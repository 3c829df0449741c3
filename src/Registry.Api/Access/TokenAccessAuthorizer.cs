using System.Security.Claims;
using Registry.Api.Auth;
using Registry.Api.Identity;
using Registry.Core;
using Registry.Core.Access;

namespace Registry.Api.Access;

/// <summary>
/// Allows what the caller's registry token grants and what the token's user may still do. A token is a snapshot:
/// each request also checks, through <see cref="CurrentAccessCache"/>, that the credential it was obtained with still
/// stands and that the user still has the access, so deleting or suspending an access token, disabling a user,
/// changing a password or removing a permission takes effect within seconds. When the token does not grant the
/// access, the same check decides between "ask for a token with this scope" (the user may do it) and "denied" (the
/// user may not), so that clients fetch a new token when that helps and show "denied" when it would not.
/// </summary>
/// <remarks>
/// A node's pull token (<see cref="TokenSubject.IsNode"/>) stands while its node exists, and allows pull of a
/// repository only while a container of that repository is placed on the node; never more.
/// </remarks>
public sealed class TokenAccessAuthorizer(
    CredentialService credentials, PermissionService permissions, Nodes.NodePullAccess nodes, CurrentAccessCache cache) : IAccessAuthorizer
{
    public async ValueTask<AccessDecision> AuthorizeAsync(ClaimsPrincipal caller, AccessRequest request, CancellationToken cancellationToken)
    {
        if (caller.Identity?.IsAuthenticated != true)
        {
            return AccessDecision.Unauthenticated;
        }

        // Anonymous tokens carry no subject: signing in is what would help when they fall short.
        var subject = TokenSubject.Of(caller);
        if (!cache.TryGet(subject, request, out var current))
        {
            current = await LoadAsync(subject, request, cancellationToken);
            cache.Set(subject, request, current);
        }

        var permitted = current.Permits(request.Actions);
        if (subject is null || !current.CredentialValid)
        {
            return permitted && Covers(RegistryTokenAuthentication.Grants(caller), request) ? AccessDecision.Allowed : AccessDecision.Unauthenticated;
        }

        if (!permitted)
        {
            return AccessDecision.Denied;
        }

        return Covers(RegistryTokenAuthentication.Grants(caller), request) ? AccessDecision.Allowed : AccessDecision.InsufficientScope;
    }

    private async Task<CurrentAccess> LoadAsync(TokenSubject? subject, AccessRequest request, CancellationToken ct)
    {
        if (subject is { IsNode: true })
        {
            return await nodes.LoadAsync(subject, request, ct);
        }

        Caller? user = null;
        if (subject is not null)
        {
            user = await credentials.FindTokenCallerAsync(subject, ct);
            if (user is null)
            {
                return CurrentAccess.Revoked;
            }
        }

        var actions = request.IsCatalog
            ? user?.MayListCatalog == true ? RegistryAction.Pull : RegistryAction.None
            : await permissions.GetRepositoryActionsAsync(user, request.Name, ct);
        return new CurrentAccess(CredentialValid: true, actions);
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
