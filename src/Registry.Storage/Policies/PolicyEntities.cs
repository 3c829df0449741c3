namespace Registry.Storage.Policies;

/// <summary>The most a namespace may hold, as counted by <see cref="NamespaceUsage"/>. No row: no limit.</summary>
public sealed class NamespaceQuotaEntity
{
    public required string Namespace { get; set; }

    public long LimitBytes { get; set; }

    public DateTime UpdatedAt { get; set; }

    public string? UpdatedBy { get; set; }
}

/// <summary>
/// Tags matching <see cref="Pattern"/> cannot be moved to another manifest or deleted once they exist, in one
/// repository of the namespace or (when <see cref="Repository"/> is null) in all of them.
/// </summary>
public sealed class ImmutableTagRuleEntity
{
    public long Id { get; set; }

    public required string Namespace { get; set; }

    /// <summary>The full repository name (inside <see cref="Namespace"/>), or null for every repository of the namespace.</summary>
    public string? Repository { get; set; }

    public required string Pattern { get; set; }

    public DateTime CreatedAt { get; set; }

    public string? CreatedBy { get; set; }
}

/// <summary>Audit actions of the policy settings.</summary>
public static class PolicyAuditActions
{
    public const string QuotaSet = "quota.set";
    public const string QuotaDelete = "quota.delete";
    public const string ImmutableRuleCreate = "immutable-tag.create";
    public const string ImmutableRuleDelete = "immutable-tag.delete";
}
