using Registry.Api.Identity;

namespace Registry.Api.Retention;

/// <summary>
/// Who may see and manage a namespace's retention policies: those who may administer the namespace
/// (<see cref="PermissionService.MayAdministerNamespaceAsync"/>). Members of the organization, and its own user with a
/// limited token, are refused (403); to anyone else the namespace's policies do not exist (404).
/// </summary>
public static class RetentionAccess
{
    public static async Task RequireAsync(Caller caller, string ns, PermissionService permissions, CancellationToken ct)
    {
        if (await permissions.MayAdministerNamespaceAsync(caller, ns, ct))
        {
            return;
        }

        if (caller.Name == ns || await permissions.GetRoleAsync(ns, caller.UserId, ct) is not null)
        {
            throw IdentityException.Denied($"only the owners of '{ns}' (with a password or an unlimited token) manage its retention policies");
        }

        throw IdentityException.NotFound($"namespace '{ns}' does not exist");
    }
}
