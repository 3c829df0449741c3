using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using Registry.Node.Snapshots;
using ZstdSharp;

namespace Registry.Node.Tests.Snapshots;

/// <summary>Builds a real layer tar in memory, entry by entry, with TarWriter (pax format).</summary>
internal sealed class TestLayer
{
    public static readonly DateTimeOffset Epoch2020 = new(2020, 1, 2, 3, 4, 5, TimeSpan.Zero);

    private readonly List<PaxTarEntry> _entries = [];

    public TestLayer File(string name, string content, UnixFileMode mode = (UnixFileMode)0x1a4, int uid = 0, int gid = 0, DateTimeOffset? modified = null) =>
        FileBytes(name, Encoding.UTF8.GetBytes(content), mode, uid, gid, modified);

    public TestLayer FileBytes(string name, byte[] content, UnixFileMode mode = (UnixFileMode)0x1a4, int uid = 0, int gid = 0, DateTimeOffset? modified = null, IEnumerable<KeyValuePair<string, string>>? pax = null)
    {
        var entry = new PaxTarEntry(TarEntryType.RegularFile, name, pax ?? [])
        {
            DataStream = new MemoryStream(content),
            Mode = mode,
            Uid = uid,
            Gid = gid,
            ModificationTime = modified ?? Epoch2020,
        };
        return Add(entry);
    }

    public TestLayer Dir(string name, UnixFileMode mode = (UnixFileMode)0x1ed, DateTimeOffset? modified = null, int uid = 0, int gid = 0) =>
        Add(new PaxTarEntry(TarEntryType.Directory, name) { Mode = mode, ModificationTime = modified ?? Epoch2020, Uid = uid, Gid = gid });

    public TestLayer Symlink(string name, string target) =>
        Add(new PaxTarEntry(TarEntryType.SymbolicLink, name) { LinkName = target, ModificationTime = Epoch2020 });

    public TestLayer Hardlink(string name, string target) =>
        Add(new PaxTarEntry(TarEntryType.HardLink, name) { LinkName = target, ModificationTime = Epoch2020 });

    public TestLayer Node(string name, TarEntryType type, int major = 0, int minor = 0)
    {
        var entry = new PaxTarEntry(type, name) { Mode = (UnixFileMode)0x1b0, ModificationTime = Epoch2020 };
        if (type != TarEntryType.Fifo)
        {
            entry.DeviceMajor = major;
            entry.DeviceMinor = minor;
        }

        return Add(entry);
    }

    public TestLayer Add(PaxTarEntry entry)
    {
        _entries.Add(entry);
        return this;
    }

    /// <summary>The uncompressed tar: what the diff_id is computed over.</summary>
    public byte[] Tar()
    {
        using var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach (var entry in _entries)
            {
                entry.DataStream?.Seek(0, SeekOrigin.Begin);
                writer.WriteEntry(entry);
            }
        }

        return output.ToArray();
    }

    public string DiffId() => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Tar()));

    public byte[] Blob(LayerCompression compression) => Compress(Tar(), compression);

    public static byte[] Compress(byte[] tar, LayerCompression compression)
    {
        using var output = new MemoryStream();
        switch (compression)
        {
            case LayerCompression.Gzip:
                using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
                {
                    gzip.Write(tar);
                }

                break;
            case LayerCompression.Zstd:
                using (var zstd = new CompressionStream(output, 3, leaveOpen: true))
                {
                    zstd.Write(tar);
                }

                break;
            default:
                output.Write(tar);
                break;
        }

        return output.ToArray();
    }

    /// <summary>A hand-made ustar header block, for headers TarWriter refuses to write.</summary>
    public static byte[] RawHeader(string name, char type, long size)
    {
        var header = new byte[512];
        Encoding.ASCII.GetBytes(name).CopyTo(header, 0);
        Encoding.ASCII.GetBytes("0000644\0").CopyTo(header, 100);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(header, 108);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(header, 116);
        Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0").CopyTo(header, 124);
        Encoding.ASCII.GetBytes("00000000000\0").CopyTo(header, 136);
        header[156] = (byte)type;
        Encoding.ASCII.GetBytes("ustar\u000000").CopyTo(header, 257);
        header.AsSpan(148, 8).Fill((byte)' ');
        var checksum = header.Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(checksum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
        return header;
    }

    public static string MediaType(LayerCompression compression) => compression switch
    {
        LayerCompression.Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        LayerCompression.Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        _ => "application/vnd.oci.image.layer.v1.tar",
    };
}
