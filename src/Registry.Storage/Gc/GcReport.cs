namespace Registry.Storage.Gc;

/// <summary>What a collection run removed, or for a dry run what it would remove now.</summary>
/// <param name="Blobs">Blobs whose bytes were (or would be) deleted from the store.</param>
/// <param name="Manifests">Manifests collected because nothing kept them (only with <c>DeleteUntagged</c>).</param>
/// <param name="Bytes">The size of the deleted blobs.</param>
/// <param name="Links">Links of a blob to a repository removed because no manifest there used it.</param>
/// <param name="OrphanFiles">Files of the store that no record named (part of <see cref="Blobs"/>).</param>
/// <param name="Repositories">Emptied repositories removed.</param>
/// <param name="Pending">Reviews still queued after the run (not yet due, or kept for later).</param>
public sealed record GcReport(
    bool DryRun,
    int Blobs,
    int Manifests,
    long Bytes,
    int Links,
    int OrphanFiles,
    int Repositories,
    int Pending,
    DateTime StartedAt,
    double DurationSeconds);
