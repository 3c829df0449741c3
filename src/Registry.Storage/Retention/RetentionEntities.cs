namespace Registry.Storage.Retention;

/// <summary>
/// A retention policy of a namespace: which tags of its repositories (or of one of them) to keep, and when untagged
/// manifests go. The durations are stored as the user wrote them ("100h", "30d").
/// </summary>
public sealed class RetentionPolicyEntity
{
    public long Id { get; set; }

    /// <summary>The first component of the repository names the policy applies to.</summary>
    public required string Namespace { get; set; }

    /// <summary>One repository of the namespace, or null for all of them.</summary>
    public string? Repository { get; set; }

    public required string TagPattern { get; set; }

    public int? KeepMostRecent { get; set; }

    public string? KeepYoungerThan { get; set; }

    public string? KeepPulledWithin { get; set; }

    public string? UntaggedOlderThan { get; set; }

    /// <summary>hourly, daily or weekly; null when the policy only runs when asked to.</summary>
    public string? Schedule { get; set; }

    public bool Enabled { get; set; }

    public string? CreatedBy { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime UpdatedAt { get; set; }

    public DateTime? LastRunAt { get; set; }

    /// <summary>When the scheduler runs the policy next; null without a schedule.</summary>
    public DateTime? NextRunAt { get; set; }

    /// <summary>A replica that runs the policy holds it until then; another replica may take it over afterwards.</summary>
    public DateTime? ClaimedUntil { get; set; }
}

/// <summary>The report of a run that deleted (a real run, manual or scheduled); dry runs are not kept.</summary>
public sealed class RetentionRunEntity
{
    public long Id { get; set; }

    public long PolicyId { get; set; }

    /// <summary>The user who asked for the run; null for a scheduled run.</summary>
    public string? Actor { get; set; }

    public DateTime StartedAt { get; set; }

    public DateTime FinishedAt { get; set; }

    public int DeletedTags { get; set; }

    public int DeletedManifests { get; set; }

    /// <summary>The report as the API returns it (JSON).</summary>
    public required string ReportJson { get; set; }
}
