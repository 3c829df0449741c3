namespace Registry.Storage.Retention;

public sealed record DeletedTag(string Repository, string Tag, string Digest);

/// <summary>A manifest deleted by digest; <see cref="Subject"/> is set for a referrer that goes with its subject.</summary>
public sealed record DeletedManifest(string Repository, string Digest, string? Subject = null);

/// <summary>
/// What a run deleted, or for a dry run what a real run would delete now. The lists hold at most
/// <see cref="MaxListed"/> entries each; the counts are complete.
/// </summary>
public sealed record RetentionReport(
    long PolicyId,
    bool DryRun,
    DateTime StartedAt,
    DateTime FinishedAt,
    int Repositories,
    IReadOnlyList<DeletedTag> DeletedTags,
    int DeletedTagCount,
    IReadOnlyList<DeletedManifest> DeletedManifests,
    int DeletedManifestCount,
    int Kept,
    bool Truncated)
{
    public const int MaxListed = 1000;

    public static RetentionReport Create(
        long policyId, bool dryRun, DateTime startedAt, DateTime finishedAt, int repositories,
        IReadOnlyList<DeletedTag> tags, IReadOnlyList<DeletedManifest> manifests, int kept) =>
        new(policyId, dryRun, startedAt, finishedAt, repositories,
            tags.Take(MaxListed).ToList(), tags.Count,
            manifests.Take(MaxListed).ToList(), manifests.Count,
            kept, tags.Count > MaxListed || manifests.Count > MaxListed);
}
