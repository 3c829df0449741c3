using System.Globalization;
using System.Security.Claims;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Mvc;
using Registry.Api.Identity;
using Registry.Storage.Metadata;

namespace Registry.Api.Ui.Pages;

/// <summary>Password sign-in through <see cref="CredentialService"/>, so the login throttle and the audit log apply.</summary>
public sealed class LoginModel : UiPage
{
    [BindProperty]
    public string? Username { get; set; }

    [BindProperty]
    public string? Password { get; set; }

    [BindProperty(SupportsGet = true)]
    public string? ReturnUrl { get; set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync()
    {
        if (string.IsNullOrEmpty(Username) || string.IsNullOrEmpty(Password))
        {
            Error = "Enter a user name and a password.";
            return Page();
        }

        // Access tokens are for clients; the UI session is a password session with the user's full rights.
        if (Password.StartsWith(Secrets.AccessTokenPrefix, StringComparison.Ordinal))
        {
            Error = "Sign in with your password; access tokens are for docker and other clients.";
            return Page();
        }

        var login = await Service<CredentialService>().LoginAsync(Username, Password, AuditLog.ClientAddress(HttpContext), Aborted);
        if (login.RetryAfter is { } wait)
        {
            Error = ThrottledMessage("failed sign-ins", wait);
            SetThrottled(HttpContext, wait);
            return Page();
        }

        if (!login.Succeeded)
        {
            Error = "Invalid user name or password.";
            Response.StatusCode = StatusCodes.Status401Unauthorized;
            return Page();
        }

        var account = await Service<AccountService>().GetAsync(login.Caller!.Name, AccountKind.User, Aborted);
        await SignInAsync(HttpContext, account);
        return LocalRedirect(Url.IsLocalUrl(ReturnUrl) ? ReturnUrl : "/");
    }

    /// <summary>The page's message for a throttled password: what happened and how long to wait.</summary>
    internal static string ThrottledMessage(string what, TimeSpan wait)
    {
        var (count, unit) = wait.TotalSeconds < 60 ? (Math.Ceiling(wait.TotalSeconds), "second")
            : wait.TotalMinutes < 60 ? (Math.Ceiling(wait.TotalMinutes), "minute")
            : (Math.Ceiling(wait.TotalHours), "hour");
        return string.Create(CultureInfo.InvariantCulture, $"Too many {what}; try again in {count} {unit}{(count == 1 ? string.Empty : "s")}.");
    }

    /// <summary>Answers 429 with Retry-After, as the registry's other interfaces do.</summary>
    internal static void SetThrottled(HttpContext context, TimeSpan wait)
    {
        context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        context.Response.Headers.RetryAfter = Rest.ApiErrors.RetryAfterSeconds(wait);
    }

    /// <summary>Starts a UI session; it carries a stamp of the password, so that changing the password ends the other sessions.</summary>
    internal static Task SignInAsync(HttpContext context, AccountEntity user)
    {
        var identity = new ClaimsIdentity(UiSetup.CookieScheme, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(ClaimTypes.Name, user.Name));
        identity.AddClaim(new Claim(ClaimTypes.NameIdentifier, user.Id.ToString(CultureInfo.InvariantCulture)));
        identity.AddClaim(new Claim(UiPage.PasswordStampClaim, UiPage.PasswordStamp(user)));
        return context.SignInAsync(UiSetup.CookieScheme, new ClaimsPrincipal(identity));
    }
}
