using Registry.Core;
using Registry.Core.Access;

namespace Registry.Api.Identity;

/// <summary>Decides what a token may carry: the intersection of what was asked and what the caller may do, never more.</summary>
public sealed class TokenGrants(PermissionService permissions)
{
    public const string SearchAction = "search";

    public async Task<IReadOnlyList<AccessScope>> GrantAsync(Caller? caller, IReadOnlyList<AccessScope> requested, CancellationToken ct)
    {
        var repositories = new Dictionary<string, RegistryAction>(StringComparer.Ordinal);
        var granted = new List<AccessScope>();
        foreach (var scope in requested)
        {
            if (scope.Type == AccessScope.RepositoryType && RepositoryName.IsValid(scope.Name))
            {
                var asked = scope.RepositoryActions;
                var allowed = asked == RegistryAction.None ? RegistryAction.None : await permissions.GetRepositoryActionsAsync(caller, scope.Name, ct) & asked;
                repositories[scope.Name] = repositories.GetValueOrDefault(scope.Name) | allowed;
            }
            else if (scope.Type == AccessScope.RegistryType && scope.Name == AccessScope.CatalogName)
            {
                var actions = scope.Actions.Where(a => a == "*" ? caller?.MayListCatalog == true : a == SearchAction).ToList();
                if (actions.Count > 0 && !granted.Any(g => g.Type == AccessScope.RegistryType))
                {
                    granted.Add(new AccessScope(AccessScope.RegistryType, AccessScope.CatalogName, actions));
                }
            }
        }

        granted.InsertRange(0, repositories
            .Where(r => r.Value != RegistryAction.None)
            .Select(r => AccessScope.Repository(r.Key, r.Value)));
        return granted;
    }
}
