using System.Net.Http.Headers;
using Microsoft.AspNetCore.Authentication;
using Registry.Api.Auth;
using Registry.Api.Identity;
using Registry.Core;
using Registry.Storage.Services;

namespace Registry.Api.Ui;

/// <summary>
/// The two routes of the old v1 API that <c>docker search HOST/TERM</c> still uses: <c>/v1/_ping</c> and
/// <c>/v1/search</c>. The daemon sends a registry token (Bearer, when <c>docker login</c> stored an identity
/// token) or nothing; Basic credentials are accepted too. Results are what the caller may pull.
/// </summary>
public static class DockerSearchEndpoints
{
    public sealed record SearchResult(string Name, string Description, int StarCount, bool IsOfficial, bool IsAutomated);

    public sealed record SearchPage(string Query, int NumResults, int NumPages, int Page, int PageSize, IReadOnlyList<SearchResult> Results);

    public static IEndpointRouteBuilder MapDockerSearchApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/v1/_ping", (HttpContext context) =>
        {
            context.Response.Headers["X-Docker-Registry-Standalone"] = "true";
            return Results.Json(new { standalone = true });
        });
        endpoints.MapGet("/v1/search", SearchAsync);
        return endpoints;
    }

    private static async Task<IResult> SearchAsync(
        HttpContext context, RepositoryService repositories, PermissionService permissions, string? q, int? n, int? page)
    {
        var caller = await FindCallerAsync(context);
        if (ReferenceEquals(caller, Unauthenticated))
        {
            return Results.Json(new { errors = new[] { new { code = "UNAUTHORIZED", message = "invalid credentials" } } }, statusCode: StatusCodes.Status401Unauthorized);
        }

        var size = Math.Clamp(n ?? 25, 1, RepositoryService.MaxPageSize);
        var number = Math.Max(1, page ?? 1);
        var filter = await permissions.ListingFilterAsync(caller, context.RequestAborted);
        var (items, total) = await repositories.ListAsync(filter, ns: null, q, number, size, context.RequestAborted);
        var visible = caller?.Token is { } limit ? items.Where(r => limit.Apply(r.Name, RegistryAction.Pull) != RegistryAction.None) : items;
        var results = visible.Select(r => new SearchResult(r.Name, r.Description ?? string.Empty, 0, false, false)).ToList();
        return Results.Json(
            new SearchPage(q ?? string.Empty, total, (total + size - 1) / size, number, size, results),
            SearchJson.Options);
    }

    // A marker for credentials that were presented and refused: they get 401, never an anonymous answer.
    private static readonly Caller Unauthenticated = new(-1, string.Empty, false);

    private static async Task<Caller?> FindCallerAsync(HttpContext context)
    {
        if (!AuthenticationHeaderValue.TryParse(context.Request.Headers.Authorization, out var header))
        {
            return null;
        }

        var credentials = context.RequestServices.GetRequiredService<CredentialService>();
        if (string.Equals(header.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase))
        {
            var result = await context.AuthenticateAsync(RegistryTokenAuthentication.Scheme);
            if (!result.Succeeded)
            {
                return Unauthenticated;
            }

            // Anonymous registry tokens have no subject.
            if (TokenSubject.Of(result.Principal) is not { } subject)
            {
                return null;
            }

            return await credentials.FindTokenCallerAsync(subject, context.RequestAborted) ?? Unauthenticated;
        }

        if (TokenEndpoints.TryReadBasic(context, out var username, out var secret))
        {
            var login = await credentials.LoginAsync(username, secret, AuditLog.ClientAddress(context), context.RequestAborted, auditSuccess: false);
            return login.Caller ?? Unauthenticated;
        }

        return Unauthenticated;
    }

    private static class SearchJson
    {
        public static readonly System.Text.Json.JsonSerializerOptions Options = new()
        {
            PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower,
        };
    }
}
