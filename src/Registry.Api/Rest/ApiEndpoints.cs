using System.Text.Json;
using Microsoft.AspNetCore.Authorization;
using Registry.Api.Identity;
using Registry.Api.Retention;
using Registry.Storage.Metadata;

namespace Registry.Api.Rest;

/// <summary>
/// The JSON REST API under <c>/api/v1</c>: users, organizations and members, repositories, access tokens and the
/// audit log, nodes and containers. For the web UI and scripts. Every endpoint needs credentials; a personal access
/// token also bounds what its caller may change (read: nothing; read-write: no deletes). The node agent's routes
/// (the join, <c>/api/v1/node/…</c>) sit beside this group with their own authentication.
/// </summary>
public static class ApiEndpoints
{
    public const string Prefix = "/api/v1";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static IEndpointRouteBuilder MapRestApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup(Prefix)
            .RequireAuthorization(new AuthorizeAttribute { AuthenticationSchemes = ApiAuthenticationHandler.SchemeName })
            .AddEndpointFilter(ApiErrors.HandleAsync)
            .AddEndpointFilter(TokenScopeFilterAsync)
            .DisableAntiforgery();

        UserEndpoints.Map(api);
        OrganizationEndpoints.Map(api);
        RepositoryEndpoints.Map(api);
        AccessTokenEndpoints.Map(api);
        AuditEndpoints.Map(api);
        GcEndpoints.Map(api);
        Policies.PolicyEndpoints.Map(api);
        RetentionEndpoints.Map(api);
        Webhooks.WebhookEndpoints.Map(api);
        Nodes.NodeSetup.MapNodeApi(api, endpoints);
        return endpoints;
    }

    /// <summary>Reads a JSON body, refusing a missing or malformed one in the API's format.</summary>
    internal static async Task<T> BodyAsync<T>(HttpContext context)
        where T : class
    {
        if (!context.Request.HasJsonContentType())
        {
            throw IdentityException.Invalid("the body must be JSON (Content-Type: application/json)");
        }

        try
        {
            return await context.Request.ReadFromJsonAsync<T>(Json, context.RequestAborted)
                ?? throw IdentityException.Invalid("the body is empty");
        }
        catch (JsonException e)
        {
            throw IdentityException.Invalid($"the body is not valid JSON: {e.Message}");
        }
    }

    internal static void RequireAdmin(Caller caller)
    {
        if (!caller.IsAdmin || !caller.HasUnlimitedToken)
        {
            throw IdentityException.Denied("administrators only");
        }
    }

    /// <summary>Settings of accounts and tokens need a password or a token without limits.</summary>
    internal static void RequireFullAccess(Caller caller)
    {
        if (!caller.HasUnlimitedToken)
        {
            throw IdentityException.Denied("this needs a password or an unlimited read-write-delete access token");
        }
    }

    private static async ValueTask<object?> TokenScopeFilterAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        var context = invocation.HttpContext;
        if (ApiAuthenticationHandler.GetCaller(context).Token is { } token)
        {
            var method = context.Request.Method;
            var allowed = HttpMethods.IsGet(method) || HttpMethods.IsHead(method)
                || (HttpMethods.IsDelete(method) ? token.Scope == TokenScope.ReadWriteDelete : token.Scope != TokenScope.Read);
            if (!allowed)
            {
                await ApiErrors.WriteAsync(context, StatusCodes.Status403Forbidden, "DENIED",
                    $"a {AccessTokenService.ScopeName(token.Scope)} access token cannot {method} here");
                return Results.Empty;
            }
        }

        return await next(invocation);
    }
}
