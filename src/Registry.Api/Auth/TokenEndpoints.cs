using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Registry.Api.Distribution;
using Registry.Api.Identity;
using Registry.Core;
using Registry.Core.Access;

namespace Registry.Api.Auth;

/// <summary>
/// The token endpoint of Docker token authentication. <c>GET</c> takes Basic credentials (a password or a personal
/// access token) and <c>scope</c> parameters, as docker, podman and skopeo call it; <c>POST</c> takes the OAuth2
/// password and refresh_token grants, as containerd and buildkit call it. Without credentials the caller gets an
/// anonymous token, which reaches public repositories only.
/// </summary>
public static class TokenEndpoints
{
    public static IEndpointRouteBuilder MapTokenEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(RegistryChallenge.TokenPath, GetAsync);
        endpoints.MapPost(RegistryChallenge.TokenPath, PostAsync).DisableAntiforgery();
        return endpoints;
    }

    private static async Task GetAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        var query = context.Request.Query;
        if (TokenRequestLimits.CheckScopes(query["scope"], Options(context)) is { } tooMany)
        {
            await OAuthErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request", tooMany);
            return;
        }

        Caller? caller = null;
        var usedPassword = false;
        if (context.Request.Headers.Authorization.Count > 0)
        {
            if (!TryReadBasic(context, out var username, out var secret))
            {
                await DistributionErrors.WriteAsync(context, ErrorCode.Unauthorized, "credentials must be HTTP Basic with a user name and a password or access token");
                return;
            }

            var login = await context.RequestServices.GetRequiredService<CredentialService>()
                .LoginAsync(username, secret, AuditLog.ClientAddress(context), ct);
            if (!login.Succeeded)
            {
                await RefuseAsync(context, login, oauth: false);
                return;
            }

            caller = login.Caller;
            usedPassword = caller!.Token is null;
        }
        else if (!AnonymousAllowed(context))
        {
            await DistributionErrors.WriteAsync(context, ErrorCode.Unauthorized with { Message = "authentication required" }, null);
            return;
        }

        var scopes = AccessScope.ParseAll(query["scope"]);
        string? refreshToken = null;
        if (usedPassword && string.Equals(query["offline_token"], "true", StringComparison.OrdinalIgnoreCase))
        {
            refreshToken = await context.RequestServices.GetRequiredService<CredentialService>()
                .IssueRefreshTokenAsync(caller!, query["client_id"], ct);
        }

        await IssueAsync(context, caller, scopes, refreshToken, oauth: false);
    }

    private static async Task PostAsync(HttpContext context)
    {
        var ct = context.RequestAborted;
        if (!context.Request.HasFormContentType)
        {
            await OAuthErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded");
            return;
        }

        var (form, refusal) = await TokenRequestLimits.ReadFormAsync(context, Options(context));
        if (form is null)
        {
            await OAuthErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request", refusal);
            return;
        }

        var credentials = context.RequestServices.GetRequiredService<CredentialService>();
        var grantType = form["grant_type"].ToString();
        LoginResult login;
        var issueRefresh = false;
        switch (grantType)
        {
            case "password":
                if (form["username"].ToString() is not { Length: > 0 } username || form["password"].ToString() is not { Length: > 0 } password)
                {
                    await OAuthErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request", "username and password are required");
                    return;
                }

                login = await credentials.LoginAsync(username, password, AuditLog.ClientAddress(context), ct);
                issueRefresh = string.Equals(form["access_type"], "offline", StringComparison.Ordinal) && login.Caller?.Token is null;
                break;
            case "refresh_token":
                if (form["refresh_token"].ToString() is not { Length: > 0 } refresh)
                {
                    await OAuthErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request", "refresh_token is required");
                    return;
                }

                login = await credentials.RedeemRefreshTokenAsync(refresh, ct);
                break;
            default:
                await OAuthErrorAsync(context, StatusCodes.Status400BadRequest, "unsupported_grant_type", "grant_type must be password or refresh_token");
                return;
        }

        if (!login.Succeeded)
        {
            await RefuseAsync(context, login, oauth: true);
            return;
        }

        var refreshToken = issueRefresh ? await credentials.IssueRefreshTokenAsync(login.Caller!, form["client_id"], ct) : null;
        await IssueAsync(context, login.Caller, AccessScope.ParseAll(form["scope"]), refreshToken, oauth: true);
    }

    private static async Task IssueAsync(HttpContext context, Caller? caller, IReadOnlyList<AccessScope> requested, string? refreshToken, bool oauth)
    {
        var granted = await context.RequestServices.GetRequiredService<TokenGrants>().GrantAsync(caller, requested, context.RequestAborted);
        var issued = context.RequestServices.GetRequiredService<TokenIssuer>().Issue(caller, granted);

        context.Response.Headers.CacheControl = "no-store";
        context.Response.Headers.Pragma = "no-cache";
        context.Response.ContentType = "application/json";
        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("token", issued.Token);
        json.WriteString("access_token", issued.Token);
        json.WriteNumber("expires_in", issued.ExpiresIn);
        json.WriteString("issued_at", issued.IssuedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        if (oauth)
        {
            json.WriteString("token_type", "Bearer");
            json.WriteString("scope", string.Join(' ', granted));
        }

        if (refreshToken is not null)
        {
            json.WriteString("refresh_token", refreshToken);
        }

        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }

    private static Task RefuseAsync(HttpContext context, LoginResult login, bool oauth)
    {
        if (login.RetryAfter is { } wait)
        {
            context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
            return oauth
                ? OAuthErrorAsync(context, StatusCodes.Status429TooManyRequests, "too_many_requests", login.Error!)
                : DistributionErrors.WriteAsync(context, ErrorCode.TooManyRequests with { Message = login.Error! }, null);
        }

        return oauth
            ? OAuthErrorAsync(context, StatusCodes.Status401Unauthorized, "invalid_grant", login.Error!)
            : DistributionErrors.WriteAsync(context, ErrorCode.Unauthorized with { Message = login.Error! }, null);
    }

    /// <summary>An OAuth2 error answer: <c>{"error","error_description"}</c>.</summary>
    internal static async Task OAuthErrorAsync(HttpContext context, int status, string error, string description)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(JsonSerializer.Serialize(new Dictionary<string, string> { ["error"] = error, ["error_description"] = description }), context.RequestAborted);
    }

    private static bool AnonymousAllowed(HttpContext context) => Options(context).AnonymousPull;

    private static AuthOptions Options(HttpContext context) => context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value;

    /// <summary>Reads <c>Authorization: Basic base64(user:secret)</c>.</summary>
    public static bool TryReadBasic(HttpContext context, out string username, out string secret)
    {
        username = secret = string.Empty;
        if (!AuthenticationHeaderValue.TryParse(context.Request.Headers.Authorization, out var header)
            || !string.Equals(header.Scheme, "Basic", StringComparison.OrdinalIgnoreCase)
            || header.Parameter is null)
        {
            return false;
        }

        Span<byte> decoded = stackalloc byte[1024];
        if (!Convert.TryFromBase64String(header.Parameter, decoded, out var length))
        {
            return false;
        }

        var text = Encoding.UTF8.GetString(decoded[..length]);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        username = text[..colon];
        secret = text[(colon + 1)..];
        return secret.Length > 0;
    }
}
