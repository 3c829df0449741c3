using Microsoft.EntityFrameworkCore;
using Registry.Core;
using Registry.Storage.Blobs;
using Registry.Storage.Metadata;

namespace Registry.Storage.Services;

/// <summary>Blobs as a repository sees them: only those linked to it exist.</summary>
public sealed class BlobService(RegistryDbContext db, IBlobReader reader, UploadService uploads)
{
    /// <summary>The blob's size if the repository has it, else null.</summary>
    public Task<long?> StatAsync(string repository, Digest digest, CancellationToken ct)
    {
        var text = digest.ToString();
        return (from r in db.Repositories
                join rb in db.RepositoryBlobs on r.Id equals rb.RepositoryId
                join b in db.Blobs on rb.BlobDigest equals b.Digest
                where r.Name == repository && rb.BlobDigest == text
                select (long?)b.Size).FirstOrDefaultAsync(ct);
    }

    public async Task<BlobContent?> OpenAsync(string repository, Digest digest, CancellationToken ct)
    {
        if (await StatAsync(repository, digest, ct) is null)
        {
            return null;
        }

        return await reader.OpenAsync(digest, ct);
    }

    /// <summary>Makes a blob of <paramref name="source"/> visible in <paramref name="target"/> without copying bytes.</summary>
    /// <returns>False when the source repository does not have the blob.</returns>
    public async Task<bool> MountAsync(string target, string source, Digest digest, CancellationToken ct)
    {
        if (await StatAsync(source, digest, ct) is not { } size)
        {
            return false;
        }

        await uploads.LinkAsync(target, digest, size, ct);
        return true;
    }

    /// <summary>Removes the blob from the repository. The bytes stay while other repositories link them.</summary>
    public async Task<bool> DeleteAsync(string repository, Digest digest, CancellationToken ct)
    {
        var text = digest.ToString();
        var rows = await db.RepositoryBlobs
            .Where(rb => rb.BlobDigest == text && db.Repositories.Any(r => r.Id == rb.RepositoryId && r.Name == repository))
            .ExecuteDeleteAsync(ct);
        return rows > 0;
    }
}
