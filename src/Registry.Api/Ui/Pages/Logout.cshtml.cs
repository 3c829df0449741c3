using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;

namespace Registry.Api.Ui.Pages;

public sealed class LogoutModel : UiPage
{
    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        await HttpContext.SignOutAsync(UiSetup.CookieScheme);
        return Redirect("/");
    }
}
