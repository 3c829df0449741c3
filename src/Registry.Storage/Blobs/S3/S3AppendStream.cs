using System.Buffers;

namespace Registry.Storage.Blobs.S3;

/// <summary>
/// Appends to a staged upload: bytes gather in a buffer of the part size, and each full buffer becomes one staged
/// object at its offset, written while the next buffer fills (two buffers, so memory stays at twice the part size
/// whatever the upload's size). Disposing writes what is left and waits for every write; a write that failed is
/// reported there at the latest, and the caller then truncates the upload back to where this append started.
/// </summary>
internal sealed class S3AppendStream : Stream
{
    private readonly Func<long, ReadOnlyMemory<byte>, CancellationToken, Task> _writePart;
    private readonly Action _closed;
    private byte[] _filling;
    private byte[] _spare;
    private int _filled;
    private long _offset;
    private Task _writing = Task.CompletedTask;
    private bool _disposed;

    /// <param name="start">The staged length, where this append's first byte goes.</param>
    /// <param name="partSize">Bytes per staged object (the last one of an append may be shorter).</param>
    /// <param name="writePart">Writes one staged object: its offset and bytes.</param>
    /// <param name="closed">Called once when the stream is disposed (releases the upload for other writers).</param>
    public S3AppendStream(long start, int partSize, Func<long, ReadOnlyMemory<byte>, CancellationToken, Task> writePart, Action closed)
    {
        _offset = start;
        _writePart = writePart;
        _closed = closed;
        _filling = ArrayPool<byte>.Shared.Rent(partSize);
        _spare = ArrayPool<byte>.Shared.Rent(partSize);
        PartSize = partSize;
    }

    public int PartSize { get; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => !_disposed;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (!buffer.IsEmpty)
        {
            var take = Math.Min(buffer.Length, PartSize - _filled);
            buffer[..take].CopyTo(_filling.AsMemory(_filled));
            _filled += take;
            buffer = buffer[take..];
            if (_filled == PartSize)
            {
                await StartWriteAsync(cancellationToken);
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <remarks>Blob bytes are only written asynchronously; a synchronous write would block a thread on the network.</remarks>
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("staged uploads are written asynchronously");

    /// <summary>Nothing to do: bytes are staged a part at a time, and the rest when the stream is disposed.</summary>
    public override void Flush()
    {
    }

    public override Task FlushAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public override async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        try
        {
            if (_filled > 0)
            {
                await StartWriteAsync(CancellationToken.None);
            }

            await _writing;
        }
        finally
        {
            // Only once no write uses them.
            await _writing.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            ArrayPool<byte>.Shared.Return(_filling);
            ArrayPool<byte>.Shared.Return(_spare);
            _closed();
            await base.DisposeAsync();
        }
    }

    /// <summary>For callers that dispose synchronously: the last part must still be written, so this waits for it.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Waits for the previous part's write (reporting its failure), then starts writing the filled buffer.</summary>
    private async Task StartWriteAsync(CancellationToken ct)
    {
        await _writing;
        var bytes = _filling.AsMemory(0, _filled);
        var offset = _offset;
        _writing = _writePart(offset, bytes, ct);
        _offset += _filled;
        (_filling, _spare) = (_spare, _filling);
        _filled = 0;
    }
}
