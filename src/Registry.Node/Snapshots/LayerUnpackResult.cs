using Registry.Core;

namespace Registry.Node.Snapshots;

/// <summary>Bounds on what one layer may make the unpacker do.</summary>
public sealed record LayerUnpackOptions
{
    /// <summary>Most bytes the uncompressed tar may have: stops decompression bombs.</summary>
    public long MaxUncompressedBytes { get; init; } = 64L * 1024 * 1024 * 1024;

    /// <summary>Most tar entries in one layer: stops a layer of millions of empty entries.</summary>
    public int MaxEntries { get; init; } = 1_000_000;

    /// <summary>
    /// Most bytes of one pax or GNU long-name header, which the tar reader holds in memory:
    /// real ones are a few hundred bytes (long names, xattrs).
    /// </summary>
    public int MaxMetadataEntryBytes { get; init; } = 1024 * 1024;
}

/// <summary>
/// What applying a layer produced. <see cref="DiffId"/> is the sha256 of the uncompressed tar,
/// to be compared with the image config's <c>rootfs.diff_ids</c> entry for this layer.
/// </summary>
public sealed record LayerUnpackResult(
    Digest DiffId,
    LayerCompression Compression,
    long UncompressedBytes,
    int Entries,
    int Files,
    long FileBytes,
    int Directories,
    int Symlinks,
    int Hardlinks,
    int Devices,
    int Whiteouts,
    int OpaqueDirectories,
    int SkippedDevices,
    int SkippedXattrs);
