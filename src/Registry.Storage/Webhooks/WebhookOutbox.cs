using Microsoft.EntityFrameworkCore;
using Registry.Core;
using Registry.Storage.Metadata;

namespace Registry.Storage.Webhooks;

/// <summary>Something that happened in a repository, as webhooks are told about it.</summary>
public sealed record WebhookEvent(WebhookEventTypes Type, string Repository, string? Tag, string? Digest, string? MediaType, string? Actor, DateTime Time)
{
    public const string PingEvent = "ping";

    public string Name => EventName(Type);

    public static string EventName(WebhookEventTypes type) => type switch
    {
        WebhookEventTypes.Push => "push",
        WebhookEventTypes.Delete => "delete",
        WebhookEventTypes.Pull => "pull",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "one event type"),
    };
}

/// <summary>
/// Records events as deliveries to the webhooks of the repository's namespace that want them. Pushes and deletes are
/// recorded in the transaction of the change (the outbox), so a delivery exists exactly when the change does; the
/// dispatchers send them later, never in the request.
/// </summary>
public static class WebhookOutbox
{
    /// <summary>Adds a delivery per interested webhook and saves them in the context's current transaction.</summary>
    public static Task RecordAsync(RegistryDbContext db, WebhookEvent change, CancellationToken ct) => RecordAsync(db, [change], ct);

    /// <summary>Records a batch of events (pulls are flushed this way): one query for the webhooks of all their namespaces.</summary>
    public static async Task RecordAsync(RegistryDbContext db, IReadOnlyCollection<WebhookEvent> changes, CancellationToken ct)
    {
        var namespaces = changes.Select(c => RepositoryName.NamespaceOf(c.Repository)).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        if (namespaces.Count == 0)
        {
            return;
        }

        var webhooks = await (from w in db.Webhooks.AsNoTracking()
                              join a in db.Accounts.AsNoTracking() on w.AccountId equals a.Id
                              where namespaces.Contains(a.Name) && w.Enabled
                              select new { w.Id, w.Events, Namespace = a.Name }).ToListAsync(ct);
        if (webhooks.Count == 0)
        {
            return;
        }

        var added = 0;
        foreach (var change in changes)
        {
            var ns = RepositoryName.NamespaceOf(change.Repository);
            foreach (var webhook in webhooks.Where(w => w.Namespace == ns && (w.Events & change.Type) != 0))
            {
                db.WebhookDeliveries.Add(NewDelivery(webhook.Id, change.Name, change.Time, change));
                added++;
            }
        }

        if (added > 0)
        {
            await db.SaveChangesAsync(ct);
            db.ChangeTracker.Clear();
        }
    }

    /// <summary>A delivery due at once; <paramref name="change"/> is null for a test delivery (ping).</summary>
    public static WebhookDeliveryEntity NewDelivery(string webhookId, string eventName, DateTime time, WebhookEvent? change) => new()
    {
        WebhookId = webhookId,
        Event = eventName,
        Repository = change?.Repository,
        Tag = change?.Tag,
        Digest = change?.Digest,
        MediaType = change?.MediaType,
        Actor = change?.Actor,
        CreatedAt = time,
        State = WebhookDeliveryState.Pending,
        NextAttemptAt = time,
    };
}
