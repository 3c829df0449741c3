using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Core;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Api.Identity;

/// <summary>
/// What a caller may do to a repository, from the facts in the metadata store: administrators everything; a user
/// everything in its own namespace; organization members by role; everyone signed in may pull public
/// repositories, and anonymous callers too when that is allowed. A personal access token narrows the result.
/// </summary>
public sealed class PermissionService(RegistryDbContext db, IOptions<AuthOptions> options)
{
    private const RegistryAction All = RegistryAction.Pull | RegistryAction.Push | RegistryAction.Delete;

    public async Task<RegistryAction> GetRepositoryActionsAsync(Caller? caller, string repository, CancellationToken ct)
    {
        if (caller is null)
        {
            return options.Value.AnonymousPull && await IsPublicAsync(repository, ct) ? RegistryAction.Pull : RegistryAction.None;
        }

        var actions = await GetUserActionsAsync(caller, repository, ct);
        if (!actions.HasFlag(RegistryAction.Pull) && await IsPublicAsync(repository, ct))
        {
            actions |= RegistryAction.Pull;
        }

        return caller.Token is { } token ? token.Apply(repository, actions) : actions;
    }

    /// <summary>
    /// Which repositories a listing may show the caller: administrators all; others public ones (anonymous callers
    /// only when anonymous pulls are allowed) and those of their own namespace and organizations.
    /// </summary>
    public async Task<RepositoryVisibilityFilter> ListingFilterAsync(Caller? caller, CancellationToken ct)
    {
        if (caller is null)
        {
            return new RepositoryVisibilityFilter(All: false, [], IncludePublic: options.Value.AnonymousPull);
        }

        if (caller.IsAdmin)
        {
            return new RepositoryVisibilityFilter(All: true, [], IncludePublic: true);
        }

        var organizations = await (from m in db.OrganizationMembers.AsNoTracking()
                                   join o in db.Accounts.AsNoTracking() on m.OrganizationId equals o.Id
                                   where m.UserId == caller.UserId
                                   select o.Name).ToListAsync(ct);
        return new RepositoryVisibilityFilter(All: false, [caller.Name, .. organizations], IncludePublic: true);
    }

    /// <summary>Whether the caller may change a repository's settings (visibility, description) or delete it.</summary>
    public async Task<bool> MayAdministerAsync(Caller caller, string repository, CancellationToken ct)
    {
        if (!caller.HasUnlimitedToken)
        {
            return false;
        }

        if (caller.IsAdmin)
        {
            return true;
        }

        return RepositoryName.NamespaceOf(repository) is { } ns && await MayAdministerNamespaceAsync(caller, ns, ct);
    }

    /// <summary>
    /// Whether the caller may change a namespace's settings (its policies and webhooks): administrators, the user
    /// whose namespace it is, and the owners of the organization it is. Needs a password or an unlimited token.
    /// </summary>
    public async Task<bool> MayAdministerNamespaceAsync(Caller caller, string ns, CancellationToken ct)
    {
        if (!caller.HasUnlimitedToken)
        {
            return false;
        }

        return caller.IsAdmin || ns == caller.Name || await GetRoleAsync(ns, caller.UserId, ct) == OrganizationRole.Owner;
    }

    /// <summary>The caller's role in an organization, or null when it is no member (or the name is no organization).</summary>
    public Task<OrganizationRole?> GetRoleAsync(string organization, long userId, CancellationToken ct) =>
        (from m in db.OrganizationMembers
         join o in db.Accounts on m.OrganizationId equals o.Id
         where o.Name == organization && o.Kind == AccountKind.Organization && m.UserId == userId
         select (OrganizationRole?)m.Role).FirstOrDefaultAsync(ct);

    private async Task<RegistryAction> GetUserActionsAsync(Caller caller, string repository, CancellationToken ct)
    {
        if (caller.IsAdmin)
        {
            return All;
        }

        var ns = RepositoryName.NamespaceOf(repository);
        if (ns is null)
        {
            return RegistryAction.None;
        }

        if (ns == caller.Name)
        {
            return All;
        }

        return await GetRoleAsync(ns, caller.UserId, ct) switch
        {
            OrganizationRole.Owner or OrganizationRole.Maintainer => All,
            OrganizationRole.Member => RegistryAction.Pull,
            _ => RegistryAction.None,
        };
    }

    private Task<bool> IsPublicAsync(string repository, CancellationToken ct) =>
        db.Repositories.AnyAsync(r => r.Name == repository && r.IsPublic, ct);
}
