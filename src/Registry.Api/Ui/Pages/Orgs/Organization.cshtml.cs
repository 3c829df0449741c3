using Microsoft.AspNetCore.Mvc;
using Registry.Api.Identity;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Api.Ui.Pages.Orgs;

/// <summary>
/// A namespace: the repositories of a user or an organization that the visitor may see; for an organization's
/// members also its members, and for its owners (and administrators) adding, changing and removing them. To a
/// visitor who may see none of its repositories and is no member, it does not exist.
/// </summary>
public sealed class OrganizationModel : UiPage
{
    [BindProperty(SupportsGet = true)]
    public string Name { get; set; } = string.Empty;

    [BindProperty]
    public string? Member { get; set; }

    [BindProperty]
    public string? Role { get; set; }

    public AccountEntity? Account { get; private set; }

    public IReadOnlyList<RepositorySummary> Repositories { get; private set; } = [];

    public int Total { get; private set; }

    public IReadOnlyList<(string User, OrganizationRole Role, DateTime Since)>? Members { get; private set; }

    public bool IsOwner { get; private set; }

    /// <summary>Whether the visitor may see the namespace's quota and immutable tags.</summary>
    public bool MaySeeSettings { get; private set; }

    public async Task<IActionResult> OnGetAsync() => await LoadAsync() ? Page() : NotFound();

    public async Task<IActionResult> OnPostMemberAsync()
    {
        if (!await LoadAsync())
        {
            return NotFound();
        }

        if (!IsOwner)
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        if (!Enum.TryParse<OrganizationRole>(Role, ignoreCase: true, out var role) || !Enum.IsDefined(role) || int.TryParse(Role, out _))
        {
            Error = "Choose owner, maintainer or member.";
            return Page();
        }

        var user = Member?.Trim() ?? string.Empty;
        try
        {
            await Service<AccountService>().SetMemberAsync(Name, user, role, Aborted);
        }
        catch (IdentityException e) when (e.Error is IdentityError.Invalid or IdentityError.Conflict or IdentityError.NotFound)
        {
            Error = e.Message;
            return Page();
        }

        await Service<AuditLog>().WriteAsync(AuditActions.MemberSet, Caller!.Name, $"{Name}/{user}", detail: role.ToString().ToLowerInvariant());
        Flash = $"{user} is a {role.ToString().ToLowerInvariant()} of {Name}.";
        return Redirect($"/orgs/{Name}");
    }

    public async Task<IActionResult> OnPostRemoveAsync()
    {
        if (!await LoadAsync())
        {
            return NotFound();
        }

        var user = Member ?? string.Empty;
        if (!IsOwner && user != Caller?.Name)
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        try
        {
            await Service<AccountService>().RemoveMemberAsync(Name, user, Aborted);
        }
        catch (IdentityException e) when (e.Error is IdentityError.Conflict or IdentityError.NotFound)
        {
            Error = e.Message;
            return Page();
        }

        await Service<AuditLog>().WriteAsync(AuditActions.MemberRemove, Caller!.Name, $"{Name}/{user}");
        Flash = $"{user} removed from {Name}.";
        return Redirect($"/orgs/{Name}");
    }

    private async Task<bool> LoadAsync()
    {
        var accounts = Service<AccountService>();
        Account = await accounts.FindAsync(Name, AccountKind.Organization, Aborted) ?? await accounts.FindAsync(Name, AccountKind.User, Aborted);
        if (Account is null)
        {
            return false;
        }

        var permissions = Service<PermissionService>();
        var filter = await permissions.ListingFilterAsync(Caller, Aborted);
        (Repositories, Total) = await Service<RepositoryService>().ListAsync(filter, Name, query: null, 1, RepositoryService.MaxPageSize, Aborted, RepositorySort.LastPush);
        var insider = Caller is not null && (Caller.IsAdmin || Caller.Name == Name);
        if (Account.Kind == AccountKind.Organization && Caller is not null)
        {
            var role = await permissions.GetRoleAsync(Name, Caller.UserId, Aborted);
            if (role is not null || Caller.IsAdmin)
            {
                Members = await accounts.MembersAsync(Name, Aborted);
                IsOwner = role == OrganizationRole.Owner || Caller.IsAdmin;
                insider = true;
            }
        }

        MaySeeSettings = await Service<Policies.NamespaceAccess>().MaySeeAsync(Caller, Name, Aborted);

        // A namespace with nothing the visitor may see looks the same as one that does not exist, so the page
        // cannot be used to find out which user and organization names there are.
        return insider || Total > 0;
    }
}
