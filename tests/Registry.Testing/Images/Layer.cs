using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;

namespace Registry.Testing.Images;

/// <summary>A gzip-compressed layer: its blob, its diff id (digest of the uncompressed tar) and the history line that made it.</summary>
public sealed class Layer
{
    internal Layer(Blob compressed, string diffId, string createdBy)
    {
        Compressed = compressed;
        DiffId = diffId;
        CreatedBy = createdBy;
    }

    public Blob Compressed { get; }

    public string DiffId { get; }

    public string CreatedBy { get; }
}

/// <summary>
/// Writes a layer tar in memory. Fixed owners and times make equal content give equal digests;
/// ustar rather than pax because pax headers carry the current access and change times.
/// </summary>
internal sealed class LayerWriter
{
    internal static readonly DateTimeOffset Timestamp = new(2024, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private const UnixFileMode DirectoryMode = (UnixFileMode)0b111_101_101; // 0755
    private const UnixFileMode FileMode = (UnixFileMode)0b110_100_100; // 0644
    private const UnixFileMode ExecutableMode = (UnixFileMode)0b111_101_101; // 0755
    private const UnixFileMode SymlinkMode = (UnixFileMode)0b111_111_111; // 0777

    private readonly List<Entry> _entries = [];

    public LayerWriter Directory(string path, UnixFileMode mode = DirectoryMode)
    {
        _entries.Add(new Entry(TarEntryType.Directory, path.TrimEnd('/') + "/", mode, null, null));
        return this;
    }

    public LayerWriter File(string path, byte[] content, bool executable = false)
    {
        _entries.Add(new Entry(TarEntryType.RegularFile, path, executable ? ExecutableMode : FileMode, content, null));
        return this;
    }

    public LayerWriter File(string path, string content, bool executable = false)
        => File(path, System.Text.Encoding.UTF8.GetBytes(content), executable);

    public LayerWriter Symlink(string path, string target)
    {
        _entries.Add(new Entry(TarEntryType.SymbolicLink, path, SymlinkMode, null, target));
        return this;
    }

    /// <summary>Writes the tar, gzips it and returns the layer.</summary>
    public Layer Finish(string createdBy)
    {
        using var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Ustar, leaveOpen: true))
        {
            foreach (var entry in _entries)
            {
                writer.WriteEntry(entry.ToTarEntry());
            }
        }

        var diffId = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar.GetBuffer().AsSpan(0, (int)tar.Length)));
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            tar.Position = 0;
            tar.CopyTo(gzip);
        }

        return new Layer(new Blob(ImageMediaTypes.OciLayerGzip, compressed.ToArray()), diffId, createdBy);
    }

    private sealed record Entry(TarEntryType Type, string Path, UnixFileMode Mode, byte[]? Content, string? LinkName)
    {
        public UstarTarEntry ToTarEntry()
        {
            var entry = new UstarTarEntry(Type, Path)
            {
                Mode = Mode,
                ModificationTime = Timestamp,
                Uid = 0,
                Gid = 0,
            };
            if (Content is not null)
            {
                entry.DataStream = new MemoryStream(Content, writable: false);
            }

            if (LinkName is not null)
            {
                entry.LinkName = LinkName;
            }

            return entry;
        }
    }
}
