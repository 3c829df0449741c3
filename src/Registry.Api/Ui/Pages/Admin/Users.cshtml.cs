using Microsoft.AspNetCore.Mvc;
using Registry.Api.Identity;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Api.Ui.Pages.Admin;

public sealed class UsersModel : UiPage
{
    protected override bool RequiresAdmin => true;

    [BindProperty]
    public string? Username { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty]
    public bool? IsAdmin { get; set; }

    [BindProperty]
    public bool? IsDisabled { get; set; }

    /// <summary>The user whose deletion is being confirmed (<c>?delete=NAME</c>).</summary>
    [BindProperty(SupportsGet = true)]
    public string? Delete { get; set; }

    /// <summary>What happens to the deleted user's repositories: <c>delete</c> or <c>transfer</c>.</summary>
    [BindProperty]
    public string? Repositories { get; set; }

    [BindProperty]
    public string? TransferTo { get; set; }

    public IReadOnlyList<AccountEntity> Users { get; private set; } = [];

    /// <summary>The repositories of the user being deleted, so the confirmation says what is at stake.</summary>
    public IReadOnlyList<RepositorySummary> OwnedRepositories { get; private set; } = [];

    public int OwnedTotal { get; private set; }

    public async Task OnGetAsync()
    {
        Users = await Service<AccountService>().ListAsync(AccountKind.User, Aborted);
        if (Delete is not null && Users.Any(u => u.Name == Delete))
        {
            var everything = new RepositoryVisibilityFilter(All: true, [], IncludePublic: true);
            (OwnedRepositories, OwnedTotal) = await Service<RepositoryService>().ListAsync(
                everything, Delete, query: null, 1, RepositoryService.MaxPageSize, Aborted, RepositorySort.Name);
        }
        else
        {
            Delete = null;
        }
    }

    public async Task<IActionResult> OnPostDeleteAsync()
    {
        var name = Delete ?? string.Empty;
        UserRemovalResult? result = null;
        if (await TryAsync(async () =>
        {
            if (name == Caller!.Name)
            {
                throw IdentityException.Conflict("administrators cannot delete themselves");
            }

            var disposition = Repositories switch
            {
                "delete" => RepositoryDisposition.Delete,
                "transfer" => RepositoryDisposition.Transfer,
                _ => RepositoryDisposition.Refuse,
            };
            result = await Service<UserRemoval>().DeleteAsync(name, disposition, TransferTo?.Trim(), Author, Aborted);
        }))
        {
            Flash = result!.Deleted.Count > 0 ? $"User {name} deleted with {result.Deleted.Count} repositories."
                : result.Transferred.Count > 0 ? $"User {name} deleted; {result.Transferred.Count} repositories moved to {TransferTo?.Trim()}."
                : $"User {name} deleted.";
            return Redirect("/admin/users");
        }

        await OnGetAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostCreateAsync()
    {
        AccountEntity? user = null;
        if (await TryAsync(async () =>
        {
            user = await Service<AccountService>().CreateUserAsync(Username?.Trim() ?? string.Empty, Password ?? string.Empty, IsAdmin ?? false, adoptRepositories: false, Aborted);
            await Service<AuditLog>().WriteAsync(AuditActions.UserCreate, Caller!.Name, user.Name, detail: user.IsAdmin ? "administrator" : null);
        }))
        {
            Flash = $"User {user!.Name} created.";
            return Redirect("/admin/users");
        }

        await OnGetAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostUpdateAsync()
    {
        var name = Username ?? string.Empty;
        if (await TryAsync(async () =>
        {
            var user = await Service<AccountService>().UpdateUserAsync(name, IsAdmin, IsDisabled, description: null, Aborted);
            await Service<AuditLog>().WriteAsync(AuditActions.UserUpdate, Caller!.Name, name, detail: $"admin={user.IsAdmin} disabled={user.IsDisabled}");
        }))
        {
            Flash = $"User {name} updated.";
            return Redirect("/admin/users");
        }

        await OnGetAsync();
        return Page();
    }
}
