using Microsoft.AspNetCore.Mvc;
using Registry.Api.Identity;
using Registry.Storage.Metadata;

namespace Registry.Api.Ui.Pages.Settings;

public sealed class ProfileModel : UiPage
{
    protected override bool RequiresSignIn => true;

    [BindProperty]
    public string? Description { get; set; }

    [BindProperty]
    public string? CurrentPassword { get; set; }

    [BindProperty]
    public string? NewPassword { get; set; }

    public AccountEntity? Account { get; private set; }

    public IReadOnlyList<(string Name, OrganizationRole Role)> Organizations { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostDescriptionAsync()
    {
        if (!await TryAsync(async () =>
        {
            await Service<AccountService>().UpdateUserAsync(Caller!.Name, isAdmin: null, isDisabled: null, AccountService.ValidateDescription(Description ?? string.Empty), Aborted);
            await Service<AuditLog>().WriteAsync(AuditActions.UserUpdate, Caller.Name, Caller.Name, detail: "description");
        }))
        {
            await LoadAsync();
            return Page();
        }

        Flash = "Saved.";
        return Redirect("/settings/profile");
    }

    public async Task<IActionResult> OnPostPasswordAsync()
    {
        var accounts = Service<AccountService>();

        // Throttled like a sign-in, so that a session left open cannot be used to guess the password.
        var check = await Service<CredentialService>().CheckCurrentPasswordAsync(Caller!.Name, CurrentPassword ?? string.Empty, AuditLog.ClientAddress(HttpContext), Aborted);
        if (check.RetryAfter is { } wait)
        {
            Error = LoginModel.ThrottledMessage("wrong passwords", wait);
            LoginModel.SetThrottled(HttpContext, wait);
        }
        else if (!check.Succeeded)
        {
            Error = "The current password is wrong.";
        }
        else if (await TryAsync(() => accounts.SetPasswordAsync(Caller.Name, NewPassword ?? string.Empty, Aborted)))
        {
            await Service<AuditLog>().WriteAsync(AuditActions.PasswordChange, Caller.Name, Caller.Name);

            // Other sessions end with the old password's stamp; this one goes on with the new one.
            await LoginModel.SignInAsync(HttpContext, await accounts.GetAsync(Caller.Name, AccountKind.User, Aborted));
            Flash = "Password changed.";
            return Redirect("/settings/profile");
        }

        await LoadAsync();
        return Page();
    }

    private async Task LoadAsync()
    {
        var accounts = Service<AccountService>();
        Account = await accounts.GetAsync(Caller!.Name, AccountKind.User, Aborted);
        Organizations = (await accounts.MembershipsAsync(Caller.UserId, Aborted)).Select(m => (m.Organization.Name, m.Role)).ToList();
    }
}
