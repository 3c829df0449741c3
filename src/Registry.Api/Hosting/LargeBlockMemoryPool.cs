using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Registry.Api.Hosting;

/// <summary>
/// Kestrel's connection buffers in 64 KiB blocks instead of its default 4 KiB. A registry moves
/// layers of hundreds of megabytes: with 4 KiB blocks every socket read and write carries at most
/// 4 KiB, and a 1 GiB upload costs a quarter of a million receive calls. Blocks are pinned (the
/// sockets use them directly) and reused; idle connections hold none, because the transport waits
/// for data before it takes a buffer.
/// </summary>
internal sealed class LargeBlockMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new LargeBlockMemoryPool();
}

internal sealed class LargeBlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 64 * 1024;

    /// <summary>Blocks kept for reuse beyond this are left to the garbage collector.</summary>
    private const int MaxRetained = 1024;

    private readonly ConcurrentQueue<byte[]> _free = new();
    private int _retained;

    public override int MaxBufferSize => BlockSize;

    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        if (minBufferSize > BlockSize)
        {
            // Larger than a block: a one-off buffer, not returned to the pool.
            return new Block(null, GC.AllocateUninitializedArray<byte>(minBufferSize, pinned: true));
        }

        if (_free.TryDequeue(out var array))
        {
            Interlocked.Decrement(ref _retained);
        }
        else
        {
            array = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);
        }

        return new Block(this, array);
    }

    protected override void Dispose(bool disposing)
    {
        _free.Clear();
    }

    private void Return(byte[] array)
    {
        if (Interlocked.Increment(ref _retained) <= MaxRetained)
        {
            _free.Enqueue(array);
        }
        else
        {
            Interlocked.Decrement(ref _retained);
        }
    }

    private sealed class Block(LargeBlockMemoryPool? pool, byte[] array) : IMemoryOwner<byte>
    {
        private byte[]? _array = array;

        public Memory<byte> Memory => _array ?? throw new ObjectDisposedException(nameof(Block));

        public void Dispose()
        {
            var array = Interlocked.Exchange(ref _array, null);
            if (array is not null && pool is not null)
            {
                pool.Return(array);
            }
        }
    }
}
