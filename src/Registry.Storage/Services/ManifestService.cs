using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Core;
using Registry.Core.Manifests;
using Registry.Storage.Gc;
using Registry.Storage.Metadata;
using Registry.Storage.Policies;
using Registry.Storage.Webhooks;

namespace Registry.Storage.Services;

/// <summary>A manifest as stored: the exact pushed bytes and what they are.</summary>
public sealed record StoredManifest(string Digest, string MediaType, byte[] Payload);

public sealed record PutManifestResult(Digest Digest, Digest? Subject);

/// <summary>A manifest that refers to another (its subject), as the referrers API lists it.</summary>
public sealed record Referrer(string MediaType, string Digest, long Size, string? ArtifactType, string? AnnotationsJson);

/// <summary>Manifests, tags and the repository listings built on them.</summary>
public sealed partial class ManifestService(
    RegistryDbContext db,
    TimeProvider time,
    IOptions<RegistryStorageOptions> options,
    IOptions<GcOptions> gc,
    ContentPolicies policies,
    ILogger<ManifestService> logger)
{
    /// <summary>The manifest a tag points at, or the one with the digest; one indexed query either way.</summary>
    public Task<StoredManifest?> GetAsync(string repository, ManifestReference reference, CancellationToken ct)
    {
        if (reference.Tag is { } tag)
        {
            return (from r in db.Repositories
                    join t in db.Tags on r.Id equals t.RepositoryId
                    join m in db.Manifests on t.ManifestId equals m.Id
                    where r.Name == repository && t.Name == tag
                    select new StoredManifest(m.Digest, m.MediaType, m.Payload)).FirstOrDefaultAsync(ct);
        }

        var digest = reference.Digest!.ToString();
        return (from r in db.Repositories
                join m in db.Manifests on r.Id equals m.RepositoryId
                where r.Name == repository && m.Digest == digest
                select new StoredManifest(m.Digest, m.MediaType, m.Payload)).FirstOrDefaultAsync(ct);
    }

    /// <summary>
    /// Validates and stores a manifest, then points the tag at it when the reference is a tag.
    /// Everything it refers to must already be in the repository.
    /// </summary>
    /// <param name="author">When given, the push is audited in the same transaction.</param>
    public async Task<PutManifestResult> PutAsync(
        string repository, ManifestReference reference, ReadOnlyMemory<byte> payload, string? contentType, ChangeAuthor? author, CancellationToken ct)
    {
        var parsed = ManifestParser.Parse(payload, contentType);
        var digest = reference.Digest is { } expected ? expected.ComputeSame(payload.Span) : Digest.ComputeSha256(payload.Span);
        if (reference.Digest is not null && digest != reference.Digest)
        {
            throw new RegistryException(ErrorCode.DigestInvalid, $"manifest content is {digest}, not {reference.Digest}");
        }

        var now = time.GetUtcNow().UtcDateTime;
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var repositoryId = await db.Repositories.Where(r => r.Name == repository).Select(r => (long?)r.Id).FirstOrDefaultAsync(ct);

        // What the manifest refers to is held until the push commits, so that the collector cannot take it meanwhile.
        await MetadataSql.LockBlobsAsync(db, parsed.RequiredBlobs.Select(d => d.Digest.ToString()).Distinct().ToList(), exclusive: false, ct);
        var children = await CheckReferencesAsync(repositoryId, parsed, ct);
        await MetadataSql.LockManifestsAsync(db, children.Select(c => c.Id).Distinct().ToList(), exclusive: false, ct);
        repositoryId ??= await MetadataSql.EnsureRepositoryAsync(db, repository, options.Value.DefaultVisibility == RepositoryVisibility.Public, now, forManifest: true, ct);

        var entity = new ManifestEntity
        {
            RepositoryId = repositoryId.Value,
            Digest = digest.ToString(),
            MediaType = parsed.MediaType,
            ArtifactType = parsed.ArtifactType,
            Payload = payload.ToArray(),
            ConfigDigest = parsed.Config?.Digest.ToString(),
            ConfigMediaType = parsed.Config?.MediaType,
            TotalSize = parsed.IsIndex
                ? parsed.Manifests.Sum(m => m.Size)
                : (parsed.Config?.Size ?? 0) + parsed.Layers.Sum(l => l.Size),
            SubjectDigest = parsed.Subject?.Digest.ToString(),
            AnnotationsJson = parsed.Annotations is { Count: > 0 } a ? JsonSerializer.Serialize(a) : null,
            CreatedAt = now,
        };
        var inserted = await MetadataSql.InsertManifestAsync(db, entity, ct);
        var manifestId = await db.Manifests.Where(m => m.RepositoryId == repositoryId && m.Digest == entity.Digest).Select(m => m.Id).FirstAsync(ct);
        if (inserted)
        {
            db.ManifestLayers.AddRange(parsed.Layers.Select((l, i) => new ManifestLayerEntity
            {
                ManifestId = manifestId,
                Position = i,
                Digest = l.Digest.ToString(),
                MediaType = l.MediaType,
                Size = l.Size,
            }));
            db.ManifestReferences.AddRange(children
                .DistinctBy(c => c.Id)
                .Select(c => new ManifestReferenceEntity { ParentId = manifestId, ChildId = c.Id, Platform = c.Platform }));
            await db.SaveChangesAsync(ct);
            db.ChangeTracker.Clear();
        }

        await MetadataSql.LockManifestsAsync(db, [manifestId], exclusive: false, ct);
        await policies.CheckPushAsync(new PushCheck(repositoryId.Value, repository, reference.Tag, manifestId, inserted, author?.User, now), ct);
        if (reference.Tag is { } tag)
        {
            var previous = await db.Tags.Where(t => t.RepositoryId == repositoryId && t.Name == tag).Select(t => (long?)t.ManifestId).FirstOrDefaultAsync(ct);
            await MetadataSql.UpsertTagAsync(db, repositoryId.Value, tag, manifestId, author?.User, now, ct);
            if (previous is { } moved && moved != manifestId)
            {
                await GcReviews.ManifestAsync(db, moved, now + gc.Value.ReviewDelay, ct);
            }
        }
        else if (!await db.Tags.AnyAsync(t => t.ManifestId == manifestId, ct))
        {
            // Pushed by digest: an index or a tag may follow; until then the push's grace protects it.
            await GcReviews.ManifestAsync(db, manifestId, now + gc.Value.UploadGrace, ct);
        }

        await db.Repositories.Where(r => r.Id == repositoryId && r.EmptiedAt != null)
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.EmptiedAt, (DateTime?)null), ct);
        await AuditAsync(author, AuditActions.ManifestPush, repository, reference, digest.ToString(), now, ct);
        await WebhookOutbox.RecordAsync(db, new WebhookEvent(WebhookEventTypes.Push, repository, reference.Tag, digest.ToString(), parsed.MediaType, author?.User, now), ct);
        await transaction.CommitAsync(ct);
        LogPushed(logger, repository, reference.ToString(), digest.ToString());
        return new PutManifestResult(digest, parsed.Subject?.Digest);
    }

    private async Task AuditAsync(ChangeAuthor? author, string action, string repository, ManifestReference reference, string? detail, DateTime now, CancellationToken ct)
    {
        if (author is null)
        {
            return;
        }

        db.AuditEvents.Add(new AuditEventEntity
        {
            Time = now,
            Actor = author.User,
            ClientAddress = author.ClientAddress,
            Action = action,
            Target = $"{repository}{(reference.Tag is null ? "@" : ":")}{reference}",
            Success = true,
            Detail = detail,
        });
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
    }

    /// <summary>Tags in lexical order after <paramref name="last"/>; null when the repository is unknown.</summary>
    public async Task<IReadOnlyList<string>?> ListTagsAsync(string repository, int? limit, string? last, CancellationToken ct)
    {
        var repositoryId = await db.Repositories.Where(r => r.Name == repository).Select(r => (long?)r.Id).FirstOrDefaultAsync(ct);
        if (repositoryId is null)
        {
            return null;
        }

        var query = db.Tags.AsNoTracking().Where(t => t.RepositoryId == repositoryId);
        if (!string.IsNullOrEmpty(last))
        {
            query = query.Where(t => string.Compare(t.Name, last) > 0);
        }

        var names = query.OrderBy(t => t.Name).Select(t => t.Name);
        return await (limit is { } n ? names.Take(n) : names).ToListAsync(ct);
    }

    /// <summary>Repository names in lexical order after <paramref name="last"/>.</summary>
    public async Task<IReadOnlyList<string>> CatalogAsync(int limit, string? last, CancellationToken ct)
    {
        var query = db.Repositories.AsNoTracking().Where(r => r.EmptiedAt == null);
        if (!string.IsNullOrEmpty(last))
        {
            query = query.Where(r => string.Compare(r.Name, last) > 0);
        }

        return await query.OrderBy(r => r.Name).Select(r => r.Name).Take(limit).ToListAsync(ct);
    }

    /// <summary>Manifests of the repository whose subject is <paramref name="subject"/>.</summary>
    public async Task<IReadOnlyList<Referrer>> ReferrersAsync(string repository, Digest subject, string? artifactType, CancellationToken ct)
    {
        var subjectText = subject.ToString();
        var query = from r in db.Repositories
                    join m in db.Manifests on r.Id equals m.RepositoryId
                    where r.Name == repository && m.SubjectDigest == subjectText
                    select m;
        if (artifactType is not null)
        {
            query = query.Where(m => m.ArtifactType == artifactType);
        }

        return await query
            .OrderBy(m => m.Id)
            .Select(m => new Referrer(m.MediaType, m.Digest, m.Payload.Length, m.ArtifactType, m.AnnotationsJson))
            .ToListAsync(ct);
    }

    private sealed record Child(long Id, string? Platform);

    /// <summary>Refuses a manifest whose blobs or child manifests the repository does not have.</summary>
    private async Task<List<Child>> CheckReferencesAsync(long? repositoryId, ParsedManifest parsed, CancellationToken ct)
    {
        var required = parsed.RequiredBlobs.ToList();
        if (required.Count > 0)
        {
            var digests = required.Select(d => d.Digest.ToString()).Distinct().ToList();
            var present = repositoryId is null
                ? []
                : await (from rb in db.RepositoryBlobs
                         join b in db.Blobs on rb.BlobDigest equals b.Digest
                         where rb.RepositoryId == repositoryId && digests.Contains(rb.BlobDigest)
                         select new { b.Digest, b.Size }).ToDictionaryAsync(x => x.Digest, x => x.Size, ct);
            foreach (var descriptor in required)
            {
                if (!present.TryGetValue(descriptor.Digest.ToString(), out var size))
                {
                    throw new RegistryException(ErrorCode.ManifestBlobUnknown, $"blob {descriptor.Digest} is not in the repository");
                }

                if (size != descriptor.Size)
                {
                    throw new RegistryException(ErrorCode.ManifestInvalid, $"blob {descriptor.Digest} is {size} bytes, the manifest says {descriptor.Size}");
                }
            }
        }

        if (parsed.Manifests.Count == 0)
        {
            return [];
        }

        var childDigests = parsed.Manifests.Select(d => d.Digest.ToString()).Distinct().ToList();
        var found = repositoryId is null
            ? []
            : await db.Manifests.Where(m => m.RepositoryId == repositoryId && childDigests.Contains(m.Digest))
                .Select(m => new { m.Digest, m.Id }).ToDictionaryAsync(x => x.Digest, x => x.Id, ct);
        var children = new List<Child>(parsed.Manifests.Count);
        foreach (var descriptor in parsed.Manifests)
        {
            if (!found.TryGetValue(descriptor.Digest.ToString(), out var id))
            {
                throw new RegistryException(ErrorCode.ManifestBlobUnknown, $"manifest {descriptor.Digest} is not in the repository");
            }

            children.Add(new Child(id, descriptor.Platform?.ToString()));
        }

        return children;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Manifest {Repository}:{Reference} pushed as {Digest}")]
    private static partial void LogPushed(ILogger logger, string repository, string reference, string digest);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted {Repository}:{Reference}")]
    private static partial void LogDeleted(ILogger logger, string repository, string reference);
}
