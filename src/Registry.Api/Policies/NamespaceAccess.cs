using Registry.Api.Identity;
using Registry.Core;
using Registry.Storage.Policies;

namespace Registry.Api.Policies;

/// <summary>
/// Who may see and who may change a namespace's policies. Seeing: administrators, the user whose namespace it
/// is, and the members of the organization it is (a token limited to another namespace or repository sees
/// nothing here). Changing the immutable-tag rules: <see cref="PermissionService.MayAdministerNamespaceAsync"/>.
/// Changing the quota: administrators only, so that no owner raises their own limit.
/// </summary>
public sealed class NamespaceAccess(PermissionService permissions, PolicyService policies)
{
    public async Task<bool> MaySeeAsync(Caller? caller, string ns, CancellationToken ct)
    {
        if (caller is null)
        {
            return false;
        }

        if (caller.Token is { } token
            && ((token.Namespace is not null && token.Namespace != ns)
                || (token.Repository is not null && RepositoryName.NamespaceOf(token.Repository) != ns)))
        {
            return false;
        }

        return caller.IsAdmin || caller.Name == ns || await permissions.GetRoleAsync(ns, caller.UserId, ct) is not null;
    }

    /// <summary>Refuses, as if the namespace did not exist, a caller who may not see it or a namespace there is not.</summary>
    /// <exception cref="IdentityException">NotFound.</exception>
    public async Task RequireVisibleAsync(Caller caller, string ns, CancellationToken ct)
    {
        if (!await MaySeeAsync(caller, ns, ct) || !await policies.NamespaceExistsAsync(ns, ct))
        {
            throw IdentityException.NotFound($"namespace '{ns}' does not exist");
        }
    }

    public Task<bool> MayManageRulesAsync(Caller caller, string ns, CancellationToken ct) => permissions.MayAdministerNamespaceAsync(caller, ns, ct);

    public static bool MaySetQuota(Caller caller) => caller.IsAdmin && caller.HasUnlimitedToken;
}
