using System.Security.Cryptography;
using Registry.Core;

namespace Registry.Node.Snapshots;

/// <summary>
/// Passes an uncompressed tar stream through to the tar reader while hashing it (the diff_id)
/// and counting it, so one read of the layer gives both the files and their proof. The count
/// is capped: a small compressed blob that inflates without end (a decompression bomb) stops
/// at <paramref name="maxBytes"/>.
/// </summary>
internal sealed class DigestingReadStream(Stream inner, long maxBytes) : ForwardReadStream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long BytesRead { get; private set; }

    public override long Position
    {
        get => BytesRead;
        set => throw new NotSupportedException();
    }

    /// <summary>Reads what is left (tar's end-of-archive padding) so the digest covers every byte.</summary>
    public async Task<Digest> FinishAsync(CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        while (await ReadAsync(buffer, cancellationToken).ConfigureAwait(false) > 0)
        {
        }

        return Digest.FromHash(Digest.Sha256, _hash.GetHashAndReset());
    }

    public override int Read(Span<byte> buffer) => Account(buffer, inner.Read(buffer));

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        return Account(buffer.Span, n);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Account(ReadOnlySpan<byte> buffer, int n)
    {
        BytesRead += n;
        if (BytesRead > maxBytes)
        {
            throw new LayerUnpackException($"layer is larger than the limit of {maxBytes} uncompressed bytes");
        }

        _hash.AppendData(buffer[..n]);
        return n;
    }
}
