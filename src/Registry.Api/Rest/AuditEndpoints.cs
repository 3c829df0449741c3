using Registry.Api.Identity;

namespace Registry.Api.Rest;

internal static class AuditEndpoints
{
    public const int MaxLimit = 500;

    public sealed record AuditEventView(long Id, DateTime Time, string? Actor, string? ClientAddress, string Action, string? Target, bool Success, string? Detail);

    public static void Map(RouteGroupBuilder api) => api.MapGet("/audit", ListAsync);

    /// <summary>Newest first; <c>before</c> (an id) pages back.</summary>
    private static async Task<IResult> ListAsync(HttpContext context, AuditLog audit, string? actor, string? action, int? limit, long? before)
    {
        ApiEndpoints.RequireAdmin(ApiAuthenticationHandler.GetCaller(context));
        var rows = await audit.ListAsync(actor, action, before, Math.Clamp(limit ?? 100, 1, MaxLimit), context.RequestAborted);
        return Results.Ok(rows.Select(e => new AuditEventView(e.Id, e.Time, e.Actor, e.ClientAddress, e.Action, e.Target, e.Success, e.Detail)));
    }
}
