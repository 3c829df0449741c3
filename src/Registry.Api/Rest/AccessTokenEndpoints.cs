using Registry.Api.Identity;
using Registry.Storage.Metadata;

namespace Registry.Api.Rest;

internal static class AccessTokenEndpoints
{
    public sealed record AccessTokenView(
        long Id, string Name, string Scope, string? Namespace, string? Repository, bool Active,
        DateTime CreatedAt, DateTime? ExpiresAt, DateTime? LastUsedAt);

    /// <summary>The answer to a creation: the only time the secret is shown.</summary>
    public sealed record CreatedAccessTokenView(
        long Id, string Name, string Scope, string? Namespace, string? Repository, bool Active,
        DateTime CreatedAt, DateTime? ExpiresAt, string Token);

    public sealed record CreateAccessToken(string? Name, string? Scope, string? Namespace, string? Repository, DateTime? ExpiresAt);

    public sealed record UpdateAccessToken(bool? Active);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/tokens", ListAsync);
        api.MapPost("/tokens", CreateAsync);
        api.MapPatch("/tokens/{id:long}", UpdateAsync);
        api.MapDelete("/tokens/{id:long}", DeleteAsync);
    }

    private static async Task<IResult> ListAsync(HttpContext context, AccessTokenService tokens)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        ApiEndpoints.RequireFullAccess(caller);
        var list = await tokens.ListAsync(caller.UserId, context.RequestAborted);
        return Results.Ok(list.Select(View));
    }

    private static async Task<IResult> CreateAsync(HttpContext context, AccessTokenService tokens, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        ApiEndpoints.RequireFullAccess(caller);
        var body = await ApiEndpoints.BodyAsync<CreateAccessToken>(context);
        if (!AccessTokenService.TryParseScope(body.Scope ?? "read", out var scope))
        {
            throw IdentityException.Invalid("scope must be read, read-write or read-write-delete");
        }

        var created = await tokens.CreateAsync(
            caller.UserId, body.Name ?? string.Empty, scope, Empty(body.Namespace), Empty(body.Repository), body.ExpiresAt, context.RequestAborted);
        var t = created.Token;
        await audit.WriteAsync(AuditActions.TokenCreate, caller.Name, t.Name, detail: $"id={t.Id} scope={AccessTokenService.ScopeName(t.Scope)}");
        return Results.Created(
            $"{ApiEndpoints.Prefix}/tokens/{t.Id}",
            new CreatedAccessTokenView(t.Id, t.Name, AccessTokenService.ScopeName(t.Scope), t.Namespace, t.Repository, t.IsActive, t.CreatedAt, t.ExpiresAt, created.Secret));
    }

    private static async Task<IResult> UpdateAsync(long id, HttpContext context, AccessTokenService tokens, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        ApiEndpoints.RequireFullAccess(caller);
        var body = await ApiEndpoints.BodyAsync<UpdateAccessToken>(context);
        if (body.Active is not { } active)
        {
            throw IdentityException.Invalid("active (true or false) is required");
        }

        var token = await tokens.SetActiveAsync(caller.UserId, id, active, context.RequestAborted);
        await audit.WriteAsync(AuditActions.TokenUpdate, caller.Name, token.Name, detail: $"id={id} active={active}");
        return Results.Ok(View(token));
    }

    private static async Task<IResult> DeleteAsync(long id, HttpContext context, AccessTokenService tokens, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        ApiEndpoints.RequireFullAccess(caller);
        var token = await tokens.DeleteAsync(caller.UserId, id, context.RequestAborted);
        await audit.WriteAsync(AuditActions.TokenDelete, caller.Name, token.Name, detail: $"id={id}");
        return Results.NoContent();
    }

    private static string? Empty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static AccessTokenView View(AccessTokenEntity t) =>
        new(t.Id, t.Name, AccessTokenService.ScopeName(t.Scope), t.Namespace, t.Repository, t.IsActive, t.CreatedAt, t.ExpiresAt, t.LastUsedAt);
}
