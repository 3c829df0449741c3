using System.IO.Compression;
using ZstdSharp;

namespace Registry.Node.Snapshots;

/// <summary>How a layer blob is compressed.</summary>
public enum LayerCompression
{
    None,
    Gzip,
    Zstd,
}

/// <summary>Detects a layer's compression and wraps the blob in the matching decompressor.</summary>
internal static class LayerDecompression
{
    private static ReadOnlySpan<byte> GzipMagic => [0x1f, 0x8b];

    private static ReadOnlySpan<byte> ZstdMagic => [0x28, 0xb5, 0x2f, 0xfd];

    /// <summary>What the media type declares, or null when it does not say (or is absent).</summary>
    public static LayerCompression? FromMediaType(string? mediaType) => mediaType switch
    {
        null or "" => null,
        _ when mediaType.EndsWith("+gzip", StringComparison.Ordinal) || mediaType.EndsWith(".tar.gzip", StringComparison.Ordinal) => LayerCompression.Gzip,
        _ when mediaType.EndsWith("+zstd", StringComparison.Ordinal) || mediaType.EndsWith(".tar.zstd", StringComparison.Ordinal) => LayerCompression.Zstd,
        _ when mediaType.EndsWith(".tar", StringComparison.Ordinal) => LayerCompression.None,
        _ => throw new LayerUnpackException($"unsupported layer media type '{mediaType}'"),
    };

    /// <summary>What the first bytes say: magic numbers decide, as docker and containerd do.</summary>
    public static LayerCompression FromMagic(ReadOnlySpan<byte> head) =>
        head.StartsWith(GzipMagic) ? LayerCompression.Gzip
        : head.StartsWith(ZstdMagic) ? LayerCompression.Zstd
        : LayerCompression.None;

    /// <summary>
    /// Peeks at the blob's first bytes and returns the stream of the uncompressed tar. A media type
    /// that promises compression the bytes do not have is a corrupt layer; an uncompressed media
    /// type on compressed bytes is tolerated, since some tools mislabel gzip layers.
    /// </summary>
    public static async Task<(Stream Tar, LayerCompression Compression)> OpenAsync(
        Stream blob, string? mediaType, CancellationToken cancellationToken)
    {
        var declared = FromMediaType(mediaType);
        var head = new byte[4];
        var read = await blob.ReadAtLeastAsync(head, head.Length, throwOnEndOfStream: false, cancellationToken).ConfigureAwait(false);
        var actual = FromMagic(head.AsSpan(0, read));
        if (declared is { } expected && expected != LayerCompression.None && expected != actual)
        {
            throw new LayerUnpackException($"layer declared {expected} by its media type but its content is {actual}");
        }

        Stream replay = new ReplayStream(head.AsMemory(0, read), blob);
        Stream tar = actual switch
        {
            LayerCompression.Gzip => new GZipStream(replay, CompressionMode.Decompress, leaveOpen: false),
            LayerCompression.Zstd => new DecompressionStream(replay, leaveOpen: false),
            _ => replay,
        };
        return (tar, actual);
    }

    /// <summary>
    /// Gives back a few peeked bytes before the rest of a non-seekable stream. It does not
    /// dispose the blob stream: that belongs to the caller.
    /// </summary>
    private sealed class ReplayStream(ReadOnlyMemory<byte> head, Stream inner) : ForwardReadStream
    {
        private ReadOnlyMemory<byte> _head = head;

        public override int Read(Span<byte> buffer)
        {
            if (_head.IsEmpty)
            {
                return inner.Read(buffer);
            }

            var n = Math.Min(buffer.Length, _head.Length);
            _head.Span[..n].CopyTo(buffer);
            _head = _head[n..];
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (_head.IsEmpty)
            {
                return inner.ReadAsync(buffer, cancellationToken);
            }

            return ValueTask.FromResult(Read(buffer.Span));
        }
    }
}
