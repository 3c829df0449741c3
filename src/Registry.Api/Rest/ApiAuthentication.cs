using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Registry.Api.Auth;
using Registry.Api.Identity;

namespace Registry.Api.Rest;

/// <summary>
/// Authenticates the REST API: <c>Authorization: Basic</c> with a password or a personal access token, or
/// <c>Authorization: Bearer regpat_…</c>. The caller it finds is kept on the request for the endpoints.
/// Refusals answer in the API's error format; throttled logins get 429 with Retry-After.
/// </summary>
public sealed class ApiAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "RegistryApi";

    private static readonly object CallerKey = new();
    private static readonly object FailureKey = new();

    public static Caller GetCaller(HttpContext context) =>
        context.Items[CallerKey] as Caller ?? throw new InvalidOperationException("the request is not authenticated");

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!AuthenticationHeaderValue.TryParse(Request.Headers.Authorization, out var header))
        {
            return AuthenticateResult.NoResult();
        }

        var credentials = Context.RequestServices.GetRequiredService<CredentialService>();
        LoginResult login;
        if (string.Equals(header.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase) && header.Parameter is { } bearer)
        {
            login = await credentials.AuthenticateAccessTokenAsync(bearer, Context.RequestAborted);
        }
        else if (TokenEndpoints.TryReadBasic(Context, out var username, out var secret))
        {
            login = await credentials.LoginAsync(username, secret, AuditLog.ClientAddress(Context), Context.RequestAborted, auditSuccess: false);
        }
        else
        {
            return AuthenticateResult.Fail("unsupported credentials");
        }

        if (!login.Succeeded)
        {
            Context.Items[FailureKey] = login;
            return AuthenticateResult.Fail(login.Error!);
        }

        var caller = login.Caller!;
        Context.Items[CallerKey] = caller;
        var identity = new ClaimsIdentity(SchemeName, ClaimTypes.Name, ClaimTypes.Role);
        identity.AddClaim(new Claim(ClaimTypes.Name, caller.Name));
        identity.AddClaim(new Claim(ClaimTypes.NameIdentifier, caller.UserId.ToString(CultureInfo.InvariantCulture)));
        if (caller.IsAdmin)
        {
            identity.AddClaim(new Claim(ClaimTypes.Role, "admin"));
        }

        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var failure = Context.Items[FailureKey] as LoginResult;
        if (failure?.RetryAfter is { } wait)
        {
            Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return ApiErrors.WriteAsync(Context, StatusCodes.Status429TooManyRequests, "TOO_MANY_REQUESTS", failure.Error!);
        }

        Response.Headers.WWWAuthenticate = "Basic realm=\"registry\"";
        return ApiErrors.WriteAsync(Context, StatusCodes.Status401Unauthorized, "UNAUTHORIZED", failure?.Error ?? "authentication required");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        ApiErrors.WriteAsync(Context, StatusCodes.Status403Forbidden, "DENIED", "you may not do this");
}
