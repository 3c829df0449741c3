using Microsoft.Net.Http.Headers;

namespace Registry.Api.Distribution;

/// <summary>
/// Serves a local blob file, whole or one byte range. The file is read straight into the server's
/// output buffers, one copy fewer than a stream copy, and flushed in batches so each socket write
/// carries a large piece of the layer.
/// </summary>
internal static class LocalFileSender
{
    /// <summary>Bytes handed to the server between flushes.</summary>
    private const int FlushEvery = 512 * 1024;

    private const int ReadSize = 64 * 1024;

    public static async Task SendAsync(HttpContext context, string path, long size, string entityTag)
    {
        var request = context.Request;
        var response = context.Response;
        if (request.Headers.IfNoneMatch.ToString() is { Length: > 0 } ifNoneMatch
            && (ifNoneMatch.Contains(entityTag, StringComparison.Ordinal) || ifNoneMatch.Trim() == "*"))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        var (offset, count) = (0L, size);
        if (SingleRange(request, size) is { } range)
        {
            if (range.Start >= size)
            {
                response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
                response.Headers.ContentRange = $"bytes */{size}";
                response.ContentLength = 0;
                return;
            }

            (offset, count) = (range.Start, range.End - range.Start + 1);
            response.StatusCode = StatusCodes.Status206PartialContent;
            response.Headers.ContentRange = $"bytes {range.Start}-{range.End}/{size}";
        }

        response.ContentLength = count;
        if (HttpMethods.IsHead(request.Method) || count == 0)
        {
            return;
        }

        using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, FileOptions.SequentialScan);
        var writer = response.BodyWriter;
        var ct = context.RequestAborted;
        var sent = 0L;
        var unflushed = 0;
        while (sent < count)
        {
            var memory = writer.GetMemory(ReadSize);
            var want = (int)Math.Min(memory.Length, count - sent);
            var read = RandomAccess.Read(file, memory.Span[..want], offset + sent);
            if (read == 0)
            {
                throw new IOException($"blob file {path} ended before its recorded size");
            }

            writer.Advance(read);
            sent += read;
            unflushed += read;
            if (unflushed >= FlushEvery)
            {
                unflushed = 0;
                if ((await writer.FlushAsync(ct)).IsCanceled)
                {
                    return;
                }
            }
        }

        await writer.FlushAsync(ct);
    }

    /// <summary>The one satisfiable-or-not byte range asked for; null to send the whole file.</summary>
    /// <remarks>Several ranges in one request are answered with the whole file, as HTTP allows.</remarks>
    private static (long Start, long End)? SingleRange(HttpRequest request, long size)
    {
        var header = request.GetTypedHeaders().Range;
        if (header is null || !string.Equals(header.Unit.Value, "bytes", StringComparison.OrdinalIgnoreCase) || header.Ranges.Count != 1)
        {
            return null;
        }

        var range = header.Ranges.First();
        switch (range.From, range.To)
        {
            case ({ } from, { } to) when from <= to:
                return (from, Math.Min(to, size - 1));
            case ({ } from, null):
                return (from, size - 1);
            case (null, { } suffix) when suffix > 0:
                return size == 0 ? (0, -1) : (Math.Max(0, size - suffix), size - 1);
            default:
                return null;
        }
    }
}
