using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;

namespace Registry.Api.Rest;

internal static class AuditEndpoints
{
    public const int MaxLimit = 500;

    public sealed record AuditEventView(long Id, DateTime Time, string? Actor, string? ClientAddress, string Action, string? Target, bool Success, string? Detail);

    public static void Map(RouteGroupBuilder api) => api.MapGet("/audit", ListAsync);

    /// <summary>Newest first; <c>before</c> (an id) pages back.</summary>
    private static async Task<IResult> ListAsync(HttpContext context, RegistryDbContext db, string? actor, string? action, int? limit, long? before)
    {
        ApiEndpoints.RequireAdmin(ApiAuthenticationHandler.GetCaller(context));
        var events = db.AuditEvents.AsNoTracking();
        if (actor is not null)
        {
            events = events.Where(e => e.Actor == actor);
        }

        if (action is not null)
        {
            events = events.Where(e => e.Action == action);
        }

        if (before is not null)
        {
            events = events.Where(e => e.Id < before);
        }

        var rows = await events.OrderByDescending(e => e.Id).Take(Math.Clamp(limit ?? 100, 1, MaxLimit)).ToListAsync(context.RequestAborted);
        return Results.Ok(rows.Select(e => new AuditEventView(e.Id, e.Time, e.Actor, e.ClientAddress, e.Action, e.Target, e.Success, e.Detail)));
    }
}
