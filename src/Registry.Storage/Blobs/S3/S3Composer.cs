using Microsoft.Extensions.Logging;

namespace Registry.Storage.Blobs.S3;

/// <summary>
/// Makes one object out of an upload's staged pieces, the S3 store's commit. S3 has no rename and no append, so:
/// <list type="bullet">
/// <item>one piece (an upload sent in one request up to the part size, the common docker push of a small layer, or
/// any single append once pieces are merged server-side): a server-side CopyObject;</item>
/// <item>pieces that fit in one part size: one PUT streamed from them;</item>
/// <item>otherwise a multipart upload: a piece of at least S3's 5 MiB minimum becomes a part by UploadPartCopy,
/// copied inside S3 without passing through the registry; shorter pieces (small chunks, the tail of each append)
/// are concatenated into parts of at least 5 MiB streamed through the registry (GET → PUT, no buffering).</item>
/// </list>
/// An append writes pieces of exactly the part size, so a blob pushed in one request is all server-side copies but
/// its last piece. Servers without UploadPartCopy (s3rver answers NotImplemented) are noticed on first use and then
/// sent every part streamed. The result appears under its key atomically when the copy, PUT or completion returns.
/// </summary>
internal sealed partial class S3Composer(S3Client client, int partSize, ILogger logger)
{
    private const long MaxCopySize = 5L * 1024 * 1024 * 1024;
    private const int MaxParts = 10_000;
    private const int StreamBufferSize = 1024 * 1024;

    /// <summary>Parts uploaded or copied at once: copies are round trips, and streamed parts share the bandwidth.</summary>
    private const int Parallelism = 4;

    private volatile bool _partCopyUnsupported;

    /// <summary>Whether the server was found to lack UploadPartCopy (parts are then streamed).</summary>
    public bool PartCopyUnsupported => _partCopyUnsupported;

    public async Task ComposeAsync(IReadOnlyList<StagedPart> pieces, string target, CancellationToken ct)
    {
        var total = pieces.Sum(p => p.Size);
        if (pieces.Count == 1 && total <= MaxCopySize)
        {
            await client.CopyAsync(pieces[0].Key, target, ct);
        }
        else if (total <= partSize)
        {
            await client.PutAsync(target, () => Streamed(pieces), ct);
        }
        else
        {
            await MultipartAsync(pieces, total, target, ct);
        }
    }

    /// <summary>
    /// Consecutive pieces grouped into multipart parts: a piece large enough alone, else a run of pieces until the
    /// run is large enough. Every part but the last reaches the minimum, which grows past 5 MiB only so that a huge
    /// blob still needs no more than S3's 10,000 parts.
    /// </summary>
    internal static List<List<StagedPart>> Plan(IReadOnlyList<StagedPart> pieces, long total)
    {
        var minimum = Math.Max(S3BlobStoreOptions.MinimumPartSize, (total + MaxParts - 2) / (MaxParts - 1));
        var groups = new List<List<StagedPart>>();
        var run = new List<StagedPart>();
        var runSize = 0L;
        foreach (var piece in pieces)
        {
            if (run.Count == 0 && piece.Size >= minimum && piece.Size <= MaxCopySize)
            {
                groups.Add([piece]);
                continue;
            }

            run.Add(piece);
            runSize += piece.Size;
            if (runSize >= minimum)
            {
                groups.Add(run);
                run = [];
                runSize = 0;
            }
        }

        if (run.Count > 0)
        {
            groups.Add(run);
        }

        return groups;
    }

    private async Task MultipartAsync(IReadOnlyList<StagedPart> pieces, long total, string target, CancellationToken ct)
    {
        var groups = Plan(pieces, total);
        var uploadId = await client.CreateMultipartUploadAsync(target, ct);
        try
        {
            var etags = new string[groups.Count];
            await Parallel.ForEachAsync(
                Enumerable.Range(0, groups.Count),
                new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct },
                async (i, token) => etags[i] = await UploadPartAsync(target, uploadId, i + 1, groups[i], token));
            await client.CompleteMultipartUploadAsync(target, uploadId, etags, ct);
        }
        catch (Exception e)
        {
            try
            {
                await client.AbortMultipartUploadAsync(target, uploadId, CancellationToken.None);
            }
            catch (Exception abort) when (abort is S3Exception or HttpRequestException or IOException or OperationCanceledException)
            {
                // The bucket's lifecycle rule for incomplete multipart uploads (see docs/storage.md) removes it later.
                LogAbortFailed(logger, abort, target);
            }

            LogComposeFailed(logger, target, e.Message);
            throw;
        }
    }

    private async Task<string> UploadPartAsync(string target, string uploadId, int number, List<StagedPart> group, CancellationToken ct)
    {
        if (group.Count == 1 && !_partCopyUnsupported)
        {
            try
            {
                return await client.UploadPartCopyAsync(target, uploadId, number, group[0].Key, ct);
            }
            catch (S3Exception e) when (e.Code == "NotImplemented" || e.Status == System.Net.HttpStatusCode.NotImplemented)
            {
                if (!_partCopyUnsupported)
                {
                    _partCopyUnsupported = true;
                    LogNoPartCopy(logger);
                }
            }
        }

        return await client.UploadPartAsync(target, uploadId, number, () => Streamed(group), ct);
    }

    /// <summary>A request body made of staged pieces, read from S3 as it is sent; a new one for each attempt.</summary>
    private StreamContent Streamed(IReadOnlyList<StagedPart> pieces)
    {
        var stream = new S3ConcatStream(client, pieces);
        var content = new StreamContent(stream, StreamBufferSize);
        content.Headers.ContentLength = stream.TotalLength;
        return content;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "The S3 server does not implement UploadPartCopy; commits stream every part through the registry")]
    private static partial void LogNoPartCopy(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not abort the multipart upload of {Key}")]
    private static partial void LogAbortFailed(ILogger logger, Exception exception, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not assemble {Key} from its staged pieces: {Error}")]
    private static partial void LogComposeFailed(ILogger logger, string key, string error);
}
