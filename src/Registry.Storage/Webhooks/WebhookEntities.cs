namespace Registry.Storage.Webhooks;

/// <summary>What a webhook is told about. Stored as bits of one integer column.</summary>
[Flags]
public enum WebhookEventTypes
{
    None = 0,

    /// <summary>A manifest was pushed, by tag or by digest.</summary>
    Push = 1,

    /// <summary>A tag or a manifest was deleted.</summary>
    Delete = 2,

    /// <summary>A manifest was fetched with GET.</summary>
    Pull = 4,
}

public enum WebhookDeliveryState
{
    /// <summary>Waiting for its first attempt or for a retry.</summary>
    Pending = 0,

    /// <summary>The receiver answered 2xx.</summary>
    Delivered = 1,

    /// <summary>Every attempt failed, or the webhook was refused before sending (e.g. its host is not allowed).</summary>
    Failed = 2,
}

/// <summary>A URL that a namespace's events are posted to, signed with the webhook's secret.</summary>
public sealed class WebhookEntity
{
    /// <summary>Random, so that a webhook's id says nothing about others.</summary>
    public required string Id { get; set; }

    /// <summary>The user or organization whose namespace this is; the webhook goes with the account.</summary>
    public long AccountId { get; set; }

    public required string Url { get; set; }

    public WebhookEventTypes Events { get; set; }

    /// <summary>The signing secret, sealed with the key-encryption key: it is needed in clear to sign, so it cannot be hashed.</summary>
    public required byte[] SealedSecret { get; set; }

    public bool Enabled { get; set; }

    public string? CreatedBy { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime UpdatedAt { get; set; }
}

/// <summary>
/// One event to post to one webhook (the outbox): recorded with the change that caused it, then claimed and sent by a
/// dispatcher on any replica. <see cref="ClaimedUntil"/> is the lease of the replica that sends it.
/// </summary>
public sealed class WebhookDeliveryEntity
{
    public long Id { get; set; }

    public required string WebhookId { get; set; }

    /// <summary>push, delete, pull or ping.</summary>
    public required string Event { get; set; }

    public string? Repository { get; set; }

    public string? Tag { get; set; }

    public string? Digest { get; set; }

    public string? MediaType { get; set; }

    public string? Actor { get; set; }

    /// <summary>When the event happened.</summary>
    public DateTime CreatedAt { get; set; }

    public WebhookDeliveryState State { get; set; }

    public int Attempts { get; set; }

    /// <summary>When the next attempt is due; null once the delivery is final.</summary>
    public DateTime? NextAttemptAt { get; set; }

    public DateTime? ClaimedUntil { get; set; }

    /// <summary>Which claim holds the lease, so that only its holder records the outcome.</summary>
    public string? ClaimToken { get; set; }

    public int? LastStatusCode { get; set; }

    public string? LastError { get; set; }

    public int? LastDurationMs { get; set; }

    public DateTime? CompletedAt { get; set; }
}

/// <summary>One attempt to send a delivery: the receiver's status code, or why there was none.</summary>
public sealed class WebhookAttemptEntity
{
    public long Id { get; set; }

    public long DeliveryId { get; set; }

    public int Number { get; set; }

    public DateTime Time { get; set; }

    public int? StatusCode { get; set; }

    public string? Error { get; set; }

    public int DurationMs { get; set; }
}
