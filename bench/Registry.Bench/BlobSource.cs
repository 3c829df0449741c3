using System.Security.Cryptography;
using System.Text;

namespace Registry.Bench;

/// <summary>
/// A large file on disk whose last <see cref="SuffixLength"/> bytes are replaced per repetition.
/// Every upload is then a blob the registry has never seen (no server-side dedupe shortcut),
/// while the file is read and hashed only once: each variant's digest comes from a clone of
/// the hash state over the shared prefix.
/// </summary>
internal sealed class BlobSource : IDisposable
{
    public const int SuffixLength = 64;

    private readonly IncrementalHash _prefixHash;

    private BlobSource(string path, long length, IncrementalHash prefixHash)
    {
        Path = path;
        Length = length;
        _prefixHash = prefixHash;
    }

    public string Path { get; }

    public long Length { get; }

    public long PrefixLength => Length - SuffixLength;

    public static BlobSource Open(string path)
    {
        var length = new FileInfo(path).Length;
        if (length < SuffixLength * 2)
        {
            throw new BenchException($"{path} is too small for a blob benchmark");
        }

        var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[4 << 20];
        using (var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan))
        {
            var remaining = length - SuffixLength;
            while (remaining > 0)
            {
                var read = file.Read(buffer, 0, (int)Math.Min(buffer.Length, remaining));
                if (read == 0)
                {
                    throw new BenchException($"{path} shrank while being read");
                }

                hash.AppendData(buffer, 0, read);
                remaining -= read;
            }
        }

        return new BlobSource(path, length, hash);
    }

    public BlobVariant CreateVariant(string name)
    {
        var suffix = new byte[SuffixLength];
        suffix.AsSpan().Fill((byte)'\n');
        // The unique part first: a long name is cut to the suffix's length.
        var text = Encoding.ASCII.GetBytes($"bench {Guid.NewGuid():N} {name}");
        text.AsSpan(0, Math.Min(text.Length, SuffixLength)).CopyTo(suffix);
        using var hash = _prefixHash.Clone();
        hash.AppendData(suffix);
        return new BlobVariant(this, suffix, "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    public void Dispose() => _prefixHash.Dispose();
}

internal sealed class BlobVariant(BlobSource source, byte[] suffix, string digest)
{
    public string Digest { get; } = digest;

    public long Length => source.Length;

    /// <summary>A seekable stream over [start, start+count) of the variant's bytes, so StreamContent sends Content-Length.</summary>
    public Stream OpenRange(long start, long count) => new VariantStream(source, suffix, start, count);
}

internal sealed class VariantStream : Stream
{
    private readonly FileStream _file;
    private readonly long _prefixLength;
    private readonly byte[] _suffix;
    private readonly long _start;
    private readonly long _count;
    private long _position;

    public VariantStream(BlobSource source, byte[] suffix, long start, long count)
    {
        if (start < 0 || count < 0 || start + count > source.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(count));
        }

        // No FileStream buffering: StreamContent already reads in large blocks.
        _file = new FileStream(source.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        _prefixLength = source.PrefixLength;
        _suffix = suffix;
        _start = start;
        _count = count;
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _count;

    public override long Position
    {
        get => _position;
        set => _position = Math.Clamp(value, 0, _count);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var (fromFile, length) = Plan(buffer.Length);
        if (length == 0)
        {
            return 0;
        }

        var read = fromFile
            ? RandomAccess.Read(_file.SafeFileHandle, buffer[..length], _start + _position)
            : CopySuffix(buffer[..length]);
        _position += read;
        return read;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var (fromFile, length) = Plan(buffer.Length);
        if (length == 0)
        {
            return 0;
        }

        var read = fromFile
            ? await RandomAccess.ReadAsync(_file.SafeFileHandle, buffer[..length], _start + _position, cancellationToken)
            : CopySuffix(buffer.Span[..length]);
        _position += read;
        return read;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => _count + offset,
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>Whether the next read comes from the file or the suffix, and how many bytes it may take.</summary>
    private (bool FromFile, int Length) Plan(int wanted)
    {
        var absolute = _start + _position;
        var remaining = _count - _position;
        if (remaining <= 0)
        {
            return (true, 0);
        }

        var limit = absolute < _prefixLength ? _prefixLength - absolute : _suffix.Length - (absolute - _prefixLength);
        return (absolute < _prefixLength, (int)Math.Min(wanted, Math.Min(remaining, limit)));
    }

    private int CopySuffix(Span<byte> destination)
    {
        var offset = (int)(_start + _position - _prefixLength);
        _suffix.AsSpan(offset, destination.Length).CopyTo(destination);
        return destination.Length;
    }
}
