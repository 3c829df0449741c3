using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace Registry.Node.Snapshots;

/// <summary>
/// Follows the tar framing of the bytes on their way to the tar reader and refuses a metadata
/// entry (pax <c>x</c>/<c>g</c>, GNU long name <c>L</c>/<c>K</c>) larger than a small limit
/// before the reader sees its header. The reader buffers such entries whole and allocates their
/// declared size up front: without this, a 1 KB layer declaring a 2 GB pax header makes it
/// allocate 2 GB, and a compressed run of pax data makes it hold that much in memory.
/// File contents pass through untouched and are never buffered here.
/// </summary>
internal sealed class TarFramingGuard(Stream inner, int maxMetadataBytes) : ForwardReadStream
{
    private const int BlockSize = 512;

    private readonly byte[] _header = new byte[BlockSize];
    private int _headerFill;
    private long _dataLeft;          // data plus padding of the current entry still to pass
    private MemoryStream? _pax;      // a pax 'x' entry being collected, to learn its "size" record
    private long _paxLeft;
    private long? _sizeOverride;     // what a pax "size" record says the next entry's size is
    private bool _ended;

    public override int Read(Span<byte> buffer)
    {
        var n = inner.Read(buffer);
        Follow(buffer[..n]);
        return n;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Follow(buffer.Span[..n]);
        return n;
    }

    private void Follow(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty && !_ended)
        {
            if (_dataLeft > 0)
            {
                var take = (int)Math.Min(_dataLeft, bytes.Length);
                CollectPax(bytes[..take]);
                _dataLeft -= take;
                bytes = bytes[take..];
                continue;
            }

            var part = Math.Min(BlockSize - _headerFill, bytes.Length);
            bytes[..part].CopyTo(_header.AsSpan(_headerFill));
            _headerFill += part;
            bytes = bytes[part..];
            if (_headerFill == BlockSize)
            {
                _headerFill = 0;
                OnHeader();
            }
        }
    }

    private void OnHeader()
    {
        if (_header.AsSpan().IndexOfAnyExcept((byte)0) < 0)
        {
            _ended = true; // end-of-archive: what follows is padding the reader does not parse
            return;
        }

        var type = (char)_header[156];
        var size = ParseSize(_header.AsSpan(124, 12));
        if (type is 'x' or 'g' or 'L' or 'K')
        {
            if (size > maxMetadataBytes)
            {
                throw new LayerUnpackException(
                    $"tar metadata entry of type '{type}' declares {size} bytes, more than the limit of {maxMetadataBytes}");
            }

            if (type == 'x')
            {
                _pax = new MemoryStream((int)size);
                _paxLeft = size;
                if (size == 0)
                {
                    FinishPax();
                }
            }
        }
        else if (_sizeOverride is { } overridden)
        {
            size = overridden;
            _sizeOverride = null;
        }

        _dataLeft = checked(size + ((BlockSize - (size % BlockSize)) % BlockSize));
    }

    private void CollectPax(ReadOnlySpan<byte> bytes)
    {
        if (_pax is null || _paxLeft == 0)
        {
            return;
        }

        var take = (int)Math.Min(_paxLeft, bytes.Length);
        _pax.Write(bytes[..take]);
        _paxLeft -= take;
        if (_paxLeft == 0)
        {
            FinishPax();
        }
    }

    // Records are "LENGTH key=value\n"; only "size" matters here, since it moves the framing.
    private void FinishPax()
    {
        var text = Encoding.UTF8.GetString(_pax!.GetBuffer(), 0, (int)_pax.Length);
        _pax = null;
        foreach (var record in text.Split('\n'))
        {
            var space = record.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && record.AsSpan(space + 1).StartsWith("size=", StringComparison.Ordinal)
                && long.TryParse(record.AsSpan(space + 6), NumberStyles.None, CultureInfo.InvariantCulture, out var size))
            {
                _sizeOverride = size;
            }
        }
    }

    private static long ParseSize(ReadOnlySpan<byte> field)
    {
        if ((field[0] & 0x80) != 0)
        {
            // GNU base-256: the rest is a big-endian binary number; more than 63 bits is absurd.
            if (field[0] != 0x80 || field[1..4].IndexOfAnyExcept((byte)0) >= 0)
            {
                throw new LayerUnpackException("tar entry size does not fit in 64 bits");
            }

            return BinaryPrimitives.ReadInt64BigEndian(field[4..]) is var binary and >= 0
                ? binary
                : throw new LayerUnpackException("tar entry size is negative");
        }

        long value = 0;
        foreach (var b in field)
        {
            if (b is >= (byte)'0' and <= (byte)'7')
            {
                value = (value * 8) + (b - '0');
            }
            else if (b is not ((byte)' ' or 0))
            {
                throw new LayerUnpackException("tar entry size is not an octal number");
            }
        }

        return value;
    }
}
