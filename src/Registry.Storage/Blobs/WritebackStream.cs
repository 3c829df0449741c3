using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Registry.Storage.Blobs;

/// <summary>
/// An append-only file stream that asks the kernel to start writing dirty pages out as they
/// accumulate (Linux <c>sync_file_range</c>), so the fsync before a commit finds little left to
/// do and disk writes overlap with hashing instead of following it. Elsewhere it is a plain stream.
/// </summary>
internal sealed partial class WritebackStream(FileStream inner) : Stream
{
    /// <summary>How many bytes may be written before writeback of them is started.</summary>
    private const long WritebackChunk = 8 * 1024 * 1024;

    private const uint SyncFileRangeWrite = 2;

    private static readonly bool Supported = OperatingSystem.IsLinux();

    private long _written;
    private long _writebackStarted;
    private long _startOffset = -1;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => inner.Length;

    public override long Position
    {
        get => inner.Position;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count)
    {
        EnsureStart();
        inner.Write(buffer, offset, count);
        Advance(count);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        EnsureStart();
        await inner.WriteAsync(buffer, cancellationToken);
        Advance(buffer.Length);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await inner.DisposeAsync();
        await base.DisposeAsync();
    }

    private void EnsureStart()
    {
        if (_startOffset < 0)
        {
            _startOffset = inner.Position;
        }
    }

    private void Advance(int count)
    {
        _written += count;
        if (!Supported || _written - _writebackStarted < WritebackChunk)
        {
            return;
        }

        // Best effort: a failure here only means the final fsync does the work.
        _ = SyncFileRange(inner.SafeFileHandle, _startOffset + _writebackStarted, _written - _writebackStarted, SyncFileRangeWrite);
        _writebackStarted = _written;
    }

    [LibraryImport("libc", EntryPoint = "sync_file_range")]
    private static partial int SyncFileRange(SafeFileHandle fd, long offset, long nbytes, uint flags);
}
