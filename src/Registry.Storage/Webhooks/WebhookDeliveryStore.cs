using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;

namespace Registry.Storage.Webhooks;

/// <summary>A delivery a dispatcher holds the lease of, with what it needs to send it.</summary>
public sealed record ClaimedDelivery(WebhookDeliveryEntity Delivery, string Url, string WebhookId, byte[] SealedSecret, string ClaimToken);

/// <summary>How one attempt went.</summary>
public sealed record WebhookAttemptResult(int? StatusCode, string? Error, TimeSpan Duration)
{
    public bool Succeeded => StatusCode is >= 200 and < 300;
}

/// <summary>
/// The outbox as the dispatchers use it. A delivery is claimed by setting its lease (<c>claimed_until</c>) and a claim
/// token in one conditional update, so that of several replicas exactly one wins each delivery; a replica that dies
/// holding a lease loses it when the lease runs out and another sends the delivery again.
/// </summary>
public sealed class WebhookDeliveryStore(RegistryDbContext db)
{
    /// <summary>Claims up to <paramref name="limit"/> due deliveries until <paramref name="leaseUntil"/>.</summary>
    public async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(DateTime now, DateTime leaseUntil, int limit, CancellationToken ct)
    {
        var candidates = await db.WebhookDeliveries.AsNoTracking()
            .Where(d => d.State == WebhookDeliveryState.Pending && d.NextAttemptAt <= now && (d.ClaimedUntil == null || d.ClaimedUntil < now))
            .OrderBy(d => d.NextAttemptAt)
            .Select(d => d.Id)
            .Take(limit)
            .ToListAsync(ct);
        if (candidates.Count == 0)
        {
            return [];
        }

        // The condition is repeated in the update: a delivery another replica claimed in between is not taken.
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        await db.WebhookDeliveries
            .Where(d => candidates.Contains(d.Id) && d.State == WebhookDeliveryState.Pending && (d.ClaimedUntil == null || d.ClaimedUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(d => d.ClaimedUntil, leaseUntil).SetProperty(d => d.ClaimToken, token), ct);

        var claimed = await (from d in db.WebhookDeliveries.AsNoTracking()
                             join w in db.Webhooks.AsNoTracking() on d.WebhookId equals w.Id
                             where candidates.Contains(d.Id) && d.ClaimToken == token
                             select new { Delivery = d, w.Url, w.SealedSecret }).ToListAsync(ct);
        return claimed.Select(c => new ClaimedDelivery(c.Delivery, c.Url, c.Delivery.WebhookId, c.SealedSecret, token)).ToList();
    }

    /// <summary>
    /// Records an attempt and releases the lease: the delivery is delivered, due again at <paramref name="retryAt"/>,
    /// or failed for good when that is null. Only the holder of the claim records; a stale holder changes nothing.
    /// </summary>
    public async Task CompleteAsync(ClaimedDelivery claim, WebhookAttemptResult result, DateTime now, DateTime? retryAt, CancellationToken ct)
    {
        var state = result.Succeeded ? WebhookDeliveryState.Delivered : retryAt is null ? WebhookDeliveryState.Failed : WebhookDeliveryState.Pending;
        var next = state == WebhookDeliveryState.Pending ? retryAt : null;
        DateTime? completed = state == WebhookDeliveryState.Pending ? null : now;
        var error = Truncate(result.Error);
        var duration = (int)Math.Min(int.MaxValue, result.Duration.TotalMilliseconds);

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var updated = await db.WebhookDeliveries
            .Where(d => d.Id == claim.Delivery.Id && d.ClaimToken == claim.ClaimToken)
            .ExecuteUpdateAsync(
                s => s.SetProperty(d => d.State, state)
                    .SetProperty(d => d.Attempts, d => d.Attempts + 1)
                    .SetProperty(d => d.NextAttemptAt, next)
                    .SetProperty(d => d.ClaimedUntil, (DateTime?)null)
                    .SetProperty(d => d.ClaimToken, (string?)null)
                    .SetProperty(d => d.LastStatusCode, result.StatusCode)
                    .SetProperty(d => d.LastError, error)
                    .SetProperty(d => d.LastDurationMs, duration)
                    .SetProperty(d => d.CompletedAt, completed),
                ct);
        if (updated == 1)
        {
            db.WebhookAttempts.Add(new WebhookAttemptEntity
            {
                DeliveryId = claim.Delivery.Id,
                Number = claim.Delivery.Attempts + 1,
                Time = now,
                StatusCode = result.StatusCode,
                Error = error,
                DurationMs = duration,
            });
            await db.SaveChangesAsync(ct);
            db.ChangeTracker.Clear();
        }

        await transaction.CommitAsync(ct);
    }

    /// <summary>Removes deliveries (with their attempts) created before <paramref name="cutoff"/>, pending or not.</summary>
    public Task<int> PruneAsync(DateTime cutoff, CancellationToken ct) =>
        db.WebhookDeliveries.Where(d => d.CreatedAt < cutoff).ExecuteDeleteAsync(ct);

    private static string? Truncate(string? value) =>
        value is null || value.Length <= WebhookModel.MaxErrorLength ? value : value[..WebhookModel.MaxErrorLength];
}
