namespace Registry.Storage.Metadata;

// Rows of the metadata store. Column and table names are snake_case and set explicitly in
// RegistryDbContext so that the few hand-written upserts read the same on SQLite and PostgreSQL.

public sealed class RepositoryEntity
{
    public long Id { get; set; }

    public required string Name { get; set; }

    /// <summary>The first component of the name when it has several: the owning user's or organization's name.</summary>
    public string? Namespace { get; set; }

    /// <summary>Public repositories can be pulled by every signed-in user, and anonymously when that is allowed.</summary>
    public bool IsPublic { get; set; }

    public string? Description { get; set; }

    public DateTime CreatedAt { get; set; }

    /// <summary>
    /// Since when the repository holds no manifest: its last one was deleted, or a push created it with a blob and
    /// has not put a manifest yet. Null while it holds manifests, and for a repository created ahead of a push (API
    /// or UI). Such a repository is left out of listings, and garbage collection removes it once nothing of it
    /// remains (no link, no upload).
    /// </summary>
    public DateTime? EmptiedAt { get; set; }
}

public sealed class BlobEntity
{
    public required string Digest { get; set; }

    public long Size { get; set; }

    public DateTime CreatedAt { get; set; }
}

/// <summary>Makes a blob visible in one repository. Without this row the blob does not exist there.</summary>
public sealed class RepositoryBlobEntity
{
    public long RepositoryId { get; set; }

    public required string BlobDigest { get; set; }

    public DateTime CreatedAt { get; set; }

    /// <summary>
    /// When a push last uploaded, mounted or checked (HEAD) the blob here. Garbage collection leaves a link that no
    /// manifest uses alone for <c>Registry:Gc:UploadGrace</c> after this, so that a push in progress keeps its blobs.
    /// </summary>
    public DateTime TouchedAt { get; set; }
}

public sealed class ManifestEntity
{
    public long Id { get; set; }

    public long RepositoryId { get; set; }

    public required string Digest { get; set; }

    public required string MediaType { get; set; }

    /// <summary>Effective artifact type for the referrers API (artifactType, else the config's media type).</summary>
    public string? ArtifactType { get; set; }

    /// <summary>The exact bytes the client pushed; the digest is computed over them.</summary>
    public required byte[] Payload { get; set; }

    public string? ConfigDigest { get; set; }

    public string? ConfigMediaType { get; set; }

    /// <summary>Sum of config and layer sizes (for an index, of the child manifests' payloads).</summary>
    public long TotalSize { get; set; }

    public string? SubjectDigest { get; set; }

    /// <summary>The manifest's annotations as a JSON object, kept for the referrers API.</summary>
    public string? AnnotationsJson { get; set; }

    public DateTime CreatedAt { get; set; }

    /// <summary>The last GET of the manifest, recorded in batches (see <c>PullRecorder</c>); null when never pulled since.</summary>
    public DateTime? LastPulledAt { get; set; }
}

/// <summary>A layer of an image manifest, in order (the config is on the manifest row).</summary>
public sealed class ManifestLayerEntity
{
    public long ManifestId { get; set; }

    public int Position { get; set; }

    public required string Digest { get; set; }

    public required string MediaType { get; set; }

    public long Size { get; set; }
}

/// <summary>An index's reference to a child manifest of the same repository.</summary>
public sealed class ManifestReferenceEntity
{
    public long ParentId { get; set; }

    public long ChildId { get; set; }

    public string? Platform { get; set; }
}

public sealed class TagEntity
{
    public long Id { get; set; }

    public long RepositoryId { get; set; }

    public required string Name { get; set; }

    public long ManifestId { get; set; }

    public DateTime UpdatedAt { get; set; }

    /// <summary>The user whose push last moved the tag; null when unknown (pushes before this was recorded).</summary>
    public string? PushedBy { get; set; }
}

/// <summary>An upload session. Its staged bytes live in the blob store; the staged length is the offset.</summary>
public sealed class UploadEntity
{
    public required string Id { get; set; }

    public required string RepositoryName { get; set; }

    /// <summary>The user who started the session; it may finish it even after the token it started with expired.</summary>
    public string? Owner { get; set; }

    public DateTime CreatedAt { get; set; }

    /// <summary>The last touch; while a request writes, the end of its write lease (see <c>UploadWriterLease</c>).</summary>
    public DateTime UpdatedAt { get; set; }

    /// <summary>The process whose request holds the write lease (a <c>ProcessPresence</c> id); null when none does.</summary>
    public string? Writer { get; set; }

    /// <summary>
    /// The SHA-256 state of the first <see cref="HashOffset"/> bytes, saved by the last writer (<c>Sha256State</c>), so
    /// that any replica continues the hash without reading the staged bytes again.
    /// </summary>
    public byte[]? HashState { get; set; }

    public long? HashOffset { get; set; }
}

/// <summary>
/// A blob to review for collection: it lost a reference (or was uploaded and not yet used) and is looked at again
/// after <see cref="ReviewAfter"/>. A replica working on it holds the claim until <see cref="ClaimedUntil"/>.
/// </summary>
public sealed class GcBlobReviewEntity
{
    public required string Digest { get; set; }

    public DateTime ReviewAfter { get; set; }

    public string? Claim { get; set; }

    public DateTime? ClaimedUntil { get; set; }
}

/// <summary>A manifest to review for collection (untagged, or no longer listed by an index).</summary>
public sealed class GcManifestReviewEntity
{
    public long ManifestId { get; set; }

    public DateTime ReviewAfter { get; set; }

    public string? Claim { get; set; }

    public DateTime? ClaimedUntil { get; set; }
}
