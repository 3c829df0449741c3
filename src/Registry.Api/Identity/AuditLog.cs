using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;

namespace Registry.Api.Identity;

/// <summary>
/// Writes who did what, from where and when. Entries never hold secrets: only names, targets and outcomes.
/// Uses a context of its own so an entry is written whatever state the caller's unit of work is in.
/// </summary>
public sealed class AuditLog(IServiceScopeFactory scopes, IHttpContextAccessor http, TimeProvider time, ILogger<AuditLog> logger)
{
    public async Task WriteAsync(string action, string? actor, string? target, bool success = true, string? detail = null)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
            db.AuditEvents.Add(new AuditEventEntity
            {
                Time = time.GetUtcNow().UtcDateTime,
                Actor = Truncate(actor, RegistryDbContext.MaxAccountNameLength),
                ClientAddress = ClientAddress(http.HttpContext),
                Action = action,
                Target = Truncate(target, 512),
                Success = success,
                Detail = Truncate(detail, 2048),
            });
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // An audit entry that cannot be written must not fail the user's request; it is logged instead.
            AuditLogMessages.WriteFailed(logger, e, action, target);
        }
    }

    /// <summary>Entries newest first, optionally of one actor or action; <paramref name="before"/> (an id) pages back.</summary>
    public async Task<List<AuditEventEntity>> ListAsync(string? actor, string? action, long? before, int limit, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var events = scope.ServiceProvider.GetRequiredService<RegistryDbContext>().AuditEvents.AsNoTracking();
        if (!string.IsNullOrEmpty(actor))
        {
            events = events.Where(e => e.Actor == actor);
        }

        if (!string.IsNullOrEmpty(action))
        {
            events = events.Where(e => e.Action == action);
        }

        if (before is not null)
        {
            events = events.Where(e => e.Id < before);
        }

        return await events.OrderByDescending(e => e.Id).Take(limit).ToListAsync(ct);
    }

    public static string? ClientAddress(HttpContext? context) => context?.Connection.RemoteIpAddress?.ToString();

    private static string? Truncate(string? value, int length) => value is null || value.Length <= length ? value : value[..length];
}

internal static partial class AuditLogMessages
{
    [LoggerMessage(Level = LogLevel.Error, Message = "Could not write the audit entry {Action} for {Target}")]
    public static partial void WriteFailed(ILogger logger, Exception exception, string action, string? target);
}
