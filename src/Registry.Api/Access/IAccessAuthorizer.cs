using System.Security.Claims;
using Registry.Core;
using Registry.Core.Access;

namespace Registry.Api.Access;

/// <summary>A resource and the actions a request needs on it, in the token scope grammar's terms.</summary>
public sealed record AccessRequest(string ResourceType, string Name, RegistryAction Actions)
{
    public static AccessRequest Repository(string name, RegistryAction actions) => new(AccessScope.RepositoryType, name, actions);

    /// <summary>Listing every repository (<c>registry:catalog:*</c>).</summary>
    public static AccessRequest Catalog() => new(AccessScope.RegistryType, AccessScope.CatalogName, RegistryAction.Pull);

    public bool IsCatalog => ResourceType == AccessScope.RegistryType;

    /// <summary>The scope a client must ask the token endpoint for.</summary>
    public AccessScope ToScope() => IsCatalog ? AccessScope.Catalog : AccessScope.Repository(Name, Actions);

    public override string ToString() => ToScope().ToString();
}

public enum AccessDecision
{
    Allowed,

    /// <summary>The caller is anonymous or its credentials are not valid: 401 with a challenge.</summary>
    Unauthenticated,

    /// <summary>The caller's token does not carry the access, but the caller could get it: 401, asking for a token with the scope.</summary>
    InsufficientScope,

    /// <summary>The caller is known but may not do this: 403.</summary>
    Denied,
}

/// <summary>The one place that decides whether a caller may do ACTIONS on a resource.</summary>
public interface IAccessAuthorizer
{
    ValueTask<AccessDecision> AuthorizeAsync(ClaimsPrincipal caller, AccessRequest request, CancellationToken cancellationToken);
}
