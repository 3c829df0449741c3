using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;
using Microsoft.Extensions.Options;
using Registry.Api.Identity;
using Registry.Storage.Metadata;

namespace Registry.Api.Ui;

/// <summary>
/// The base of every UI page: finds the signed-in user from the UI cookie (checked against the metadata store on
/// each request, so a disabled or deleted account loses its session at once), and turns the services'
/// <see cref="IdentityException"/>s into a message on the page or a 404.
/// </summary>
public abstract class UiPage : PageModel
{
    public const string PasswordStampClaim = "registry.password_stamp";

    /// <summary>The signed-in user, or null for an anonymous visitor.</summary>
    public Caller? Caller { get; private set; }

    /// <summary>A message shown once after a redirect (PRG), or an error of this request.</summary>
    [TempData]
    public string? Flash { get; set; }

    public string? Error { get; set; }

    /// <summary>Pages that need a signed-in user redirect anonymous visitors to the sign-in page.</summary>
    protected virtual bool RequiresSignIn => false;

    /// <summary>Pages for administrators only; to anyone else they do not exist.</summary>
    protected virtual bool RequiresAdmin => false;

    public DateTime Now => HttpContext.RequestServices.GetRequiredService<TimeProvider>().GetUtcNow().UtcDateTime;

    /// <summary>The host:port users type in docker commands.</summary>
    public string RegistryHost =>
        HttpContext.RequestServices.GetRequiredService<IOptions<UiOptions>>().Value.PublicHost is { Length: > 0 } host ? host
        : HttpContext.RequestServices.GetRequiredService<IOptions<Hosting.PublicUrlOptions>>().Value.Authority
            ?? Request.Host.Value ?? "localhost";

    public bool AllowSignUp => HttpContext.RequestServices.GetRequiredService<IConfiguration>().GetValue<bool>("Registry:Auth:AllowSignUp");

    protected CancellationToken Aborted => HttpContext.RequestAborted;

    protected T Service<T>()
        where T : notnull => HttpContext.RequestServices.GetRequiredService<T>();

    public override async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var result = await HttpContext.AuthenticateAsync(UiSetup.CookieScheme);
        if (result.Succeeded && result.Principal.FindFirstValue(ClaimTypes.Name) is { } name)
        {
            Caller = await Service<CredentialService>().FindCallerAsync(name, tokenId: null, Aborted);
            var account = Caller is null ? null : await Service<AccountService>().FindAsync(name, AccountKind.User, Aborted);
            if (account is null || result.Principal.FindFirstValue(PasswordStampClaim) != PasswordStamp(account))
            {
                Caller = null;
                await HttpContext.SignOutAsync(UiSetup.CookieScheme);
            }
        }

        if ((RequiresSignIn || RequiresAdmin) && Caller is null)
        {
            context.Result = Redirect("/login?returnUrl=" + Uri.EscapeDataString(Request.Path + Request.QueryString));
            return;
        }

        if (RequiresAdmin && Caller is { IsAdmin: false })
        {
            context.Result = NotFound();
            return;
        }

        var executed = await next();
        if (executed.Exception is IdentityException { Error: IdentityError.NotFound })
        {
            executed.ExceptionHandled = true;
            executed.Result = NotFound();
        }
        else if (executed.Exception is IdentityException { Error: IdentityError.Denied } && !executed.ExceptionHandled)
        {
            executed.ExceptionHandled = true;
            executed.Result = new StatusCodeResult(StatusCodes.Status403Forbidden);
        }
    }

    /// <summary>A short fingerprint of the password hash: a session started before a password change no longer matches.</summary>
    public static string PasswordStamp(AccountEntity user) => CredentialService.PasswordStamp(user);

    /// <summary>Runs a change; a refusal from the services becomes the page's error message instead of an exception.</summary>
    protected async Task<bool> TryAsync(Func<Task> change)
    {
        try
        {
            await change();
            return true;
        }
        catch (IdentityException e) when (e.Error is IdentityError.Invalid or IdentityError.Conflict)
        {
            Error = e.Message;
            return false;
        }
    }

    protected ChangeAuthor Author => new(Caller?.Name, AuditLog.ClientAddress(HttpContext));
}
