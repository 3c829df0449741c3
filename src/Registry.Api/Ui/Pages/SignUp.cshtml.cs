using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Registry.Api.Identity;
using Registry.Storage.Metadata;

namespace Registry.Api.Ui.Pages;

/// <summary>Self sign-up, only when <c>Registry:Auth:AllowSignUp</c> is true (off by default).</summary>
public sealed class SignUpModel : UiPage
{
    [BindProperty]
    public string? Username { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    public override Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        if (!AllowSignUp)
        {
            context.Result = NotFound();
            return Task.CompletedTask;
        }

        return base.OnPageHandlerExecutionAsync(context, next);
    }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        var name = Username?.Trim() ?? string.Empty;
        AccountEntity? user = null;
        if (!await TryAsync(async () => user = await Service<AccountService>().CreateUserAsync(name, Password ?? string.Empty, isAdmin: false, adoptRepositories: false, Aborted)))
        {
            return Page();
        }

        await Service<AuditLog>().WriteAsync(AuditActions.UserCreate, name, name, detail: "sign-up");
        await LoginModel.SignInAsync(HttpContext, user!);
        return Redirect("/");
    }
}
