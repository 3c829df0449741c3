using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Api.Identity;
using Registry.Api.Security;
using Registry.Storage.Metadata;
using Registry.Storage.Webhooks;

namespace Registry.Api.Webhooks;

/// <summary>What a webhook is to be (create) or to become (change: null members stay as they are).</summary>
public sealed record WebhookRequest(string? Url, IReadOnlyList<string>? Events, string? Secret, bool? Enabled);

/// <summary>A webhook just created, with its secret: the only time the secret is shown.</summary>
public sealed record CreatedWebhook(WebhookEntity Webhook, string Secret);

/// <summary>A delivery with its attempts, newest attempt last.</summary>
public sealed record DeliveryRecord(WebhookDeliveryEntity Delivery, IReadOnlyList<WebhookAttemptEntity> Attempts);

/// <summary>
/// The webhooks of a namespace, for the REST API and the web UI alike. Every member checks that the caller may
/// administer the namespace (<see cref="PermissionService.MayAdministerNamespaceAsync"/>); a caller who is no member
/// of it is told it does not exist. Changes are audited, never with the secret.
/// </summary>
public sealed class WebhookService(
    RegistryDbContext db, PermissionService permissions, KeyEncryptionKey keyEncryptionKey, AuditLog audit,
    IOptions<WebhookOptions> options, TimeProvider time)
{
    public const int DeliveryPageSize = 50;

    public async Task<IReadOnlyList<WebhookEntity>> ListAsync(Caller caller, string ns, CancellationToken ct)
    {
        var accountId = await AuthorizeAsync(caller, ns, ct);
        return await db.Webhooks.AsNoTracking().Where(w => w.AccountId == accountId).OrderBy(w => w.CreatedAt).ThenBy(w => w.Id).ToListAsync(ct);
    }

    public async Task<WebhookEntity> GetAsync(Caller caller, string ns, string id, CancellationToken ct)
    {
        var accountId = await AuthorizeAsync(caller, ns, ct);
        return await FindAsync(accountId, ns, id, ct);
    }

    public async Task<CreatedWebhook> CreateAsync(Caller caller, string ns, WebhookRequest request, CancellationToken ct)
    {
        var accountId = await AuthorizeAsync(caller, ns, ct);
        var url = WebhookUrls.Parse(request.Url, options.Value.AllowedHosts);
        var events = ParseEvents(request.Events ?? throw IdentityException.Invalid("events is required: a non-empty list of push, delete, pull"));
        var secret = request.Secret is null ? WebhookSecrets.Generate() : WebhookSecrets.Check(request.Secret);
        var max = options.Value.MaxPerNamespace;
        if (await db.Webhooks.CountAsync(w => w.AccountId == accountId, ct) >= max)
        {
            throw IdentityException.Conflict($"'{ns}' has {max} webhooks, the most a namespace may have");
        }

        var now = time.GetUtcNow().UtcDateTime;
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var webhook = new WebhookEntity
        {
            Id = id,
            AccountId = accountId,
            Url = url.AbsoluteUri,
            Events = events,
            SealedSecret = WebhookSecrets.Seal(keyEncryptionKey, id, secret),
            Enabled = request.Enabled ?? true,
            CreatedBy = caller.Name,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Webhooks.Add(webhook);
        await db.SaveChangesAsync(ct);
        await audit.WriteAsync(AuditActions.WebhookCreate, caller.Name, Target(ns, id), detail: Describe(webhook));
        return new CreatedWebhook(webhook, secret);
    }

    public async Task<WebhookEntity> UpdateAsync(Caller caller, string ns, string id, WebhookRequest request, CancellationToken ct)
    {
        var accountId = await AuthorizeAsync(caller, ns, ct);
        var webhook = await FindAsync(accountId, ns, id, ct, tracked: true);
        if (request.Url is not null)
        {
            webhook.Url = WebhookUrls.Parse(request.Url, options.Value.AllowedHosts).AbsoluteUri;
        }

        if (request.Events is not null)
        {
            webhook.Events = ParseEvents(request.Events);
        }

        var secretChanged = request.Secret is not null;
        if (request.Secret is not null)
        {
            webhook.SealedSecret = WebhookSecrets.Seal(keyEncryptionKey, id, WebhookSecrets.Check(request.Secret));
        }

        if (request.Enabled is { } enabled)
        {
            webhook.Enabled = enabled;
        }

        webhook.UpdatedAt = time.GetUtcNow().UtcDateTime;
        await db.SaveChangesAsync(ct);
        await audit.WriteAsync(AuditActions.WebhookUpdate, caller.Name, Target(ns, id), detail: Describe(webhook) + (secretChanged ? " secret=changed" : string.Empty));
        return webhook;
    }

    public async Task DeleteAsync(Caller caller, string ns, string id, CancellationToken ct)
    {
        var accountId = await AuthorizeAsync(caller, ns, ct);
        var webhook = await FindAsync(accountId, ns, id, ct);
        await db.Webhooks.Where(w => w.Id == webhook.Id).ExecuteDeleteAsync(ct);
        await audit.WriteAsync(AuditActions.WebhookDelete, caller.Name, Target(ns, id), detail: $"url={Redacted(webhook.Url)}");
    }

    /// <summary>Queues a "ping" delivery, sent like any other (also when the webhook is disabled: it is a test).</summary>
    public async Task<WebhookDeliveryEntity> TestAsync(Caller caller, string ns, string id, CancellationToken ct)
    {
        var accountId = await AuthorizeAsync(caller, ns, ct);
        var webhook = await FindAsync(accountId, ns, id, ct);
        var delivery = WebhookOutbox.NewDelivery(webhook.Id, WebhookEvent.PingEvent, time.GetUtcNow().UtcDateTime, change: null);
        db.WebhookDeliveries.Add(delivery);
        await db.SaveChangesAsync(ct);
        return delivery;
    }

    /// <summary>The webhook's deliveries, newest first; <paramref name="before"/> (a delivery id) pages back.</summary>
    public async Task<IReadOnlyList<DeliveryRecord>> DeliveriesAsync(Caller caller, string ns, string id, long? before, int limit, CancellationToken ct)
    {
        var accountId = await AuthorizeAsync(caller, ns, ct);
        var webhook = await FindAsync(accountId, ns, id, ct);
        return await DeliveriesOfAsync(webhook.Id, before, limit, ct);
    }

    /// <summary>Deliveries of a webhook the caller was already checked for (the UI lists several webhooks' at once).</summary>
    public async Task<IReadOnlyList<DeliveryRecord>> DeliveriesOfAsync(string webhookId, long? before, int limit, CancellationToken ct)
    {
        var query = db.WebhookDeliveries.AsNoTracking().Where(d => d.WebhookId == webhookId);
        if (before is not null)
        {
            query = query.Where(d => d.Id < before);
        }

        var deliveries = await query.OrderByDescending(d => d.Id).Take(Math.Clamp(limit, 1, DeliveryPageSize)).ToListAsync(ct);
        var ids = deliveries.Select(d => d.Id).ToList();
        var attempts = (await db.WebhookAttempts.AsNoTracking().Where(a => ids.Contains(a.DeliveryId)).ToListAsync(ct))
            .ToLookup(a => a.DeliveryId);
        return deliveries.Select(d => new DeliveryRecord(d, attempts[d.Id].OrderBy(a => a.Number).ToList())).ToList();
    }

    /// <summary>Whether the caller may manage the namespace's webhooks, without throwing (for links in the UI).</summary>
    public Task<bool> MayManageAsync(Caller caller, string ns, CancellationToken ct) => permissions.MayAdministerNamespaceAsync(caller, ns, ct);

    public static string EventNames(WebhookEventTypes events) =>
        string.Join(",", Enum.GetValues<WebhookEventTypes>().Where(e => e != WebhookEventTypes.None && events.HasFlag(e)).Select(WebhookEvent.EventName));

    /// <exception cref="IdentityException">Not a non-empty list of known event names.</exception>
    public static WebhookEventTypes ParseEvents(IEnumerable<string?> names)
    {
        var events = WebhookEventTypes.None;
        foreach (var name in names)
        {
            events |= name?.Trim().ToLowerInvariant() switch
            {
                "push" => WebhookEventTypes.Push,
                "delete" => WebhookEventTypes.Delete,
                "pull" => WebhookEventTypes.Pull,
                _ => throw IdentityException.Invalid($"unknown event '{name}': events are push, delete and pull"),
            };
        }

        return events == WebhookEventTypes.None ? throw IdentityException.Invalid("events must name at least one of push, delete, pull") : events;
    }

    /// <summary>
    /// The namespace's account id, if the caller may administer it. Otherwise: refused (403) for those who know the
    /// namespace (its user, its members, administrators), and not found (404) for everyone else.
    /// </summary>
    private async Task<long> AuthorizeAsync(Caller caller, string ns, CancellationToken ct)
    {
        var account = await db.Accounts.AsNoTracking().Where(a => a.Name == ns).Select(a => new { a.Id, a.Kind }).FirstOrDefaultAsync(ct);
        if (account is not null && await permissions.MayAdministerNamespaceAsync(caller, ns, ct))
        {
            return account.Id;
        }

        var insider = caller.IsAdmin || caller.Name == ns
            || (account?.Kind == AccountKind.Organization && await permissions.GetRoleAsync(ns, caller.UserId, ct) is not null);
        if (account is null || !insider)
        {
            throw IdentityException.NotFound($"namespace '{ns}' does not exist");
        }

        throw IdentityException.Denied(caller.HasUnlimitedToken
            ? $"only the owners of '{ns}' and administrators may manage its webhooks"
            : "managing webhooks needs a password or an unlimited read-write-delete access token");
    }

    private async Task<WebhookEntity> FindAsync(long accountId, string ns, string id, CancellationToken ct, bool tracked = false)
    {
        var query = tracked ? db.Webhooks : db.Webhooks.AsNoTracking();
        return await query.FirstOrDefaultAsync(w => w.Id == id && w.AccountId == accountId, ct)
            ?? throw IdentityException.NotFound($"'{ns}' has no webhook {id}");
    }

    private static string Target(string ns, string id) => $"{ns}/webhooks/{id}";

    private static string Describe(WebhookEntity webhook) => $"url={Redacted(webhook.Url)} events={EventNames(webhook.Events)} enabled={webhook.Enabled}";

    /// <summary>The URL without its query, which receivers sometimes use for a token of their own.</summary>
    private static string Redacted(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.GetLeftPart(UriPartial.Path) : url;
}
