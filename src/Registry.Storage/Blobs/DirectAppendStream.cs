using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Registry.Storage.Blobs;

/// <summary>
/// Appends to a staged upload with direct I/O (Linux <c>O_DIRECT</c>): layer bytes go to the disk
/// without filling the page cache, which a registry has no use for on the way in. On machines
/// whose page cache is costly to grow (most VMs), buffered writes of large layers slow down upload
/// after upload while direct writes keep the disk's speed.
/// <para>
/// Direct writes need block-aligned offsets, lengths and memory, so bytes gather in an aligned
/// buffer. A partial block at the start (a resumed upload) is read back into the buffer first; the
/// unaligned tail at the end goes through the ordinary handle, which also holds the exclusive lock.
/// </para>
/// </summary>
internal sealed partial class DirectAppendStream : Stream
{
    private const int Alignment = 4096;
    private const int BufferSize = 1024 * 1024;

    private readonly FileStream _buffered;
    private readonly SafeFileHandle _direct;
    private readonly byte[] _array;
    private readonly int _arrayOffset;

    /// <summary>File offset of the buffer's first byte: always aligned.</summary>
    private long _bufferStart;

    /// <summary>Bytes in the buffer.</summary>
    private int _filled;

    private DirectAppendStream(FileStream buffered, SafeFileHandle direct)
    {
        _buffered = buffered;
        _direct = direct;
        _array = GC.AllocateUninitializedArray<byte>(BufferSize + Alignment, pinned: true);
        _arrayOffset = AlignedOffset(_array);

        var length = buffered.Length;
        _bufferStart = length - (length % Alignment);
        _filled = (int)(length - _bufferStart);
        if (_filled > 0)
        {
            var read = RandomAccess.Read(buffered.SafeFileHandle, Buffer[.._filled], _bufferStart);
            if (read != _filled)
            {
                throw new IOException("staged upload changed while it was opened");
            }
        }
    }

    private Span<byte> Buffer => _array.AsSpan(_arrayOffset, BufferSize);

    /// <summary>Opens <paramref name="buffered"/>'s file for direct appends, or returns null where the filesystem cannot.</summary>
    public static DirectAppendStream? TryOpen(FileStream buffered, string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        var fd = Open(path, OWronly | ODirect | OCloexec);
        if (fd < 0)
        {
            // EINVAL: no direct I/O here (tmpfs, some overlay mounts): the caller writes buffered.
            return null;
        }

        return new DirectAppendStream(buffered, new SafeFileHandle(fd, ownsHandle: true));
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _bufferStart + _filled;

    public override long Position
    {
        get => Length;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var take = Math.Min(buffer.Length, BufferSize - _filled);
            buffer[..take].CopyTo(Buffer[_filled..]);
            _filled += take;
            buffer = buffer[take..];
            if (_filled == BufferSize)
            {
                RandomAccess.Write(_direct, Buffer, _bufferStart);
                _bufferStart += BufferSize;
                _filled = 0;
            }
        }
    }

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        Write(buffer.Span);
        return ValueTask.CompletedTask;
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <summary>Writes what the buffer holds: whole blocks directly, the unaligned rest buffered.</summary>
    public override void Flush()
    {
        var aligned = _filled - (_filled % Alignment);
        if (aligned > 0)
        {
            RandomAccess.Write(_direct, Buffer[..aligned], _bufferStart);
        }

        if (_filled > aligned)
        {
            RandomAccess.Write(_buffered.SafeFileHandle, Buffer[aligned.._filled], _bufferStart + aligned);
        }

        // Keep the partial block in the buffer (moved to the front) so later writes continue it.
        var tail = _filled - aligned;
        Buffer.Slice(aligned, tail).CopyTo(Buffer);
        _bufferStart += aligned;
        _filled = tail;
    }

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        Flush();
        return Task.CompletedTask;
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            try
            {
                Flush();
            }
            finally
            {
                _direct.Dispose();
                _buffered.Dispose();
            }
        }

        base.Dispose(disposing);
    }

    private static unsafe int AlignedOffset(byte[] pinned)
    {
        var address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));
        return (int)((Alignment - (address % Alignment)) % Alignment);
    }

    private const int OWronly = 0x1;
    private const int ODirect = 0x4000;
    private const int OCloexec = 0x80000;

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);
}
