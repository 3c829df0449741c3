using System.Security.Claims;
using Registry.Core;

namespace Registry.Api.Access;

/// <summary>A resource and the actions a request needs on it, in the token scope grammar's terms.</summary>
public sealed record AccessRequest(string ResourceType, string Name, RegistryAction Actions)
{
    public static AccessRequest Repository(string name, RegistryAction actions) => new("repository", name, actions);

    /// <summary>Listing every repository (<c>registry:catalog:*</c>).</summary>
    public static AccessRequest Catalog() => new("registry", "catalog", RegistryAction.Pull);

    public override string ToString() => $"{ResourceType}:{Name}:{Actions}";
}

public enum AccessDecision
{
    Allowed,

    /// <summary>The caller is anonymous or its credentials are not valid: 401 with a challenge.</summary>
    Unauthenticated,

    /// <summary>The caller is known but may not do this: 403.</summary>
    Denied,
}

/// <summary>The one place that decides whether a caller may do ACTIONS on a resource.</summary>
public interface IAccessAuthorizer
{
    ValueTask<AccessDecision> AuthorizeAsync(ClaimsPrincipal caller, AccessRequest request, CancellationToken cancellationToken);
}

/// <summary>Grants everything: the registry runs without authentication.</summary>
public sealed class AllowAllAuthorizer : IAccessAuthorizer
{
    public ValueTask<AccessDecision> AuthorizeAsync(ClaimsPrincipal caller, AccessRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AccessDecision.Allowed);
}
