using System.Globalization;
using Registry.Core;

namespace Registry.Storage.Blobs.S3;

/// <summary>
/// Where the S3 store keeps what, in one bucket:
/// <code>
/// blobs/{algorithm}/{first two hex chars}/{encoded}            committed blobs, named by digest (one object each)
/// uploads/{upload id}/session                                 empty; the upload exists while this object does
/// uploads/{upload id}/parts/{offset, 20 digits}-{writer id}   bytes [offset, offset + size) of the upload
/// </code>
/// S3 objects cannot be appended to, so each appended piece of an upload is an object of its own (at most the part
/// size; an append of more writes several). Offsets are zero-padded so that key order is offset order. The writer id
/// is random per append: two writers never replace each other's objects, so if two requests ever wrote one upload at
/// once (two replicas, a misbehaving client), their pieces overlap and <see cref="Chain"/> says so, and commit refuses
/// rather than store bytes that the verified hash did not cover. Digests and upload ids are validated before they
/// become keys.
/// </summary>
internal static class S3Layout
{
    public const string BlobPrefix = "blobs/";
    public const string UploadPrefix = "uploads/";
    private const string SessionName = "session";
    private const string PartsDirectory = "parts/";
    private const int OffsetDigits = 20;

    public static string BlobKey(Digest digest) =>
        digest.IsSupported
            ? $"{BlobPrefix}{digest.Algorithm}/{digest.Encoded[..2]}/{digest.Encoded}"
            : throw new ArgumentException("only registered digest algorithms name blobs", nameof(digest));

    /// <summary>The digest a key under <see cref="BlobPrefix"/> names, if it is exactly where that digest's blob belongs.</summary>
    public static Digest? ParseBlobKey(string key)
    {
        var parts = key.Split('/');
        return parts.Length == 4 && Digest.TryParse($"{parts[1]}:{parts[3]}", out var digest, out _) && digest.IsSupported && BlobKey(digest) == key
            ? digest
            : null;
    }

    public static string UploadDirectory(string uploadId) =>
        UploadId.IsValid(uploadId) ? $"{UploadPrefix}{uploadId}/" : throw new ArgumentException("not an upload id", nameof(uploadId));

    public static string SessionKey(string uploadId) => UploadDirectory(uploadId) + SessionName;

    public static string PartKey(string uploadId, long offset, string writer) =>
        $"{UploadDirectory(uploadId)}{PartsDirectory}{offset.ToString("D" + OffsetDigits, CultureInfo.InvariantCulture)}-{writer}";

    /// <summary>The upload id of a key under <see cref="UploadPrefix"/>, or null.</summary>
    public static string? UploadIdOf(string key)
    {
        if (!key.StartsWith(UploadPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var end = key.IndexOf('/', UploadPrefix.Length);
        var id = end < 0 ? null : key[UploadPrefix.Length..end];
        return UploadId.IsValid(id) ? id : null;
    }

    /// <summary>What an upload's objects say about it, from a listing of its directory.</summary>
    public static StagedUpload Read(string uploadId, IEnumerable<S3Object> objects)
    {
        var directory = UploadDirectory(uploadId);
        var exists = false;
        var parts = new List<StagedPart>();
        foreach (var o in objects)
        {
            var name = o.Key[directory.Length..];
            if (name == SessionName)
            {
                exists = true;
            }
            else if (name.StartsWith(PartsDirectory, StringComparison.Ordinal)
                && name.Length > PartsDirectory.Length + OffsetDigits
                && name[PartsDirectory.Length + OffsetDigits] == '-'
                && long.TryParse(name.AsSpan(PartsDirectory.Length, OffsetDigits), NumberStyles.None, CultureInfo.InvariantCulture, out var offset))
            {
                parts.Add(new StagedPart(o.Key, offset, o.Size));
            }
        }

        return new StagedUpload(exists, parts);
    }
}

/// <summary>One staged object of an upload: bytes [Offset, Offset + Size).</summary>
internal sealed record StagedPart(string Key, long Offset, long Size)
{
    public long End => Offset + Size;
}

/// <summary>An upload's staged objects: whether its session object exists, and its pieces in offset order.</summary>
internal sealed record StagedUpload(bool Exists, IReadOnlyList<StagedPart> Parts)
{
    /// <summary>
    /// The pieces that continue one another from offset 0, and whether anything else is staged: pieces that overlap
    /// them or leave a gap (left by two writers at once). Empty pieces are not staged.
    /// </summary>
    public (IReadOnlyList<StagedPart> Chain, bool Conflict) Chain()
    {
        var chain = new List<StagedPart>();
        var end = 0L;
        foreach (var part in Parts.OrderBy(p => p.Offset).ThenBy(p => p.Key, StringComparer.Ordinal))
        {
            if (part.Offset != end || part.Size == 0)
            {
                return (chain, true);
            }

            chain.Add(part);
            end = part.End;
        }

        return (chain, false);
    }

    /// <summary>The staged length: where the chain of pieces from offset 0 ends.</summary>
    public long Length => Chain().Chain.Sum(p => p.Size);
}
