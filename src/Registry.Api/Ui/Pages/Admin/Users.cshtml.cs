using Microsoft.AspNetCore.Mvc;
using Registry.Api.Identity;
using Registry.Storage.Metadata;

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

    public IReadOnlyList<AccountEntity> Users { get; private set; } = [];

    public async Task OnGetAsync() => Users = await Service<AccountService>().ListAsync(AccountKind.User, Aborted);

    public async Task<IActionResult> OnPostCreateAsync()
    {
        AccountEntity? user = null;
        if (await TryAsync(async () =>
        {
            user = await Service<AccountService>().CreateUserAsync(Username?.Trim() ?? string.Empty, Password ?? string.Empty, IsAdmin ?? false, Aborted);
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
