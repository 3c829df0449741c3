using System.Formats.Tar;
using Registry.Core;
using ZstdSharp;
using static Registry.Node.Snapshots.SnapshotSyscalls;

namespace Registry.Node.Snapshots;

/// <summary>
/// Applies one OCI image layer (a tar, gzip- or zstd-compressed or not) into its own snapshot
/// directory in the form overlayfs takes as a lower directory, so the runtime can stack an
/// image's snapshots with <c>lowerdir=top:…:bottom</c>.
/// </summary>
/// <remarks>
/// <para>The layer is streamed once: decompressed, hashed for its diff_id and extracted as it is
/// read, never held in memory. It is extracted into a hidden sibling directory that is renamed
/// onto the snapshot path only when everything succeeded, so a snapshot directory either is
/// complete or does not exist; on any failure the partial tree is removed.</para>
/// <para>OCI whiteouts become overlayfs whiteouts: <c>.wh.NAME</c> a character device 0/0 at NAME,
/// <c>.wh..wh..opq</c> the xattr <c>trusted.overlay.opaque=y</c> on its directory. Both need
/// root (mknod of a device and trusted.* xattrs need CAP_MKNOD and CAP_SYS_ADMIN). Without root
/// a layer with whiteouts is refused with <see cref="LayerUnpackException"/> rather than
/// unpacked without them, since dropping a whiteout would bring deleted files back into the
/// image; device nodes are skipped and counted; owners are left as the unpacking user.</para>
/// <para>Every path goes through <see cref="SafeRoot"/>: hostile entries fail with
/// <see cref="HostileLayerException"/> naming the entry, and nothing is written outside the
/// snapshot.</para>
/// </remarks>
public sealed class LayerUnpacker(LayerUnpackOptions? options = null)
{
    private readonly LayerUnpackOptions _options = options ?? new LayerUnpackOptions();

    /// <summary>
    /// Unpacks <paramref name="layer"/> into <paramref name="snapshotDirectory"/>, which must not
    /// exist yet (its parent must). <paramref name="mediaType"/> may be null; the magic bytes
    /// decide the compression either way.
    /// </summary>
    /// <exception cref="HostileLayerException">An entry tried to leave the snapshot.</exception>
    /// <exception cref="LayerUnpackException">The layer is corrupt, truncated, unsupported or over a limit.</exception>
    public async Task<LayerUnpackResult> UnpackAsync(
        Stream layer, string? mediaType, string snapshotDirectory, CancellationToken cancellationToken)
    {
        var target = Path.GetFullPath(snapshotDirectory).TrimEnd('/');
        var parent = Path.GetDirectoryName(target)
            ?? throw new ArgumentException("the snapshot directory cannot be the file system root", nameof(snapshotDirectory));
        if (Path.Exists(target))
        {
            throw new IOException($"snapshot directory '{target}' already exists");
        }

        // A hidden sibling on the same file system, so the final rename is atomic; 0700 keeps
        // other users from racing us inside it while it is being filled.
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.unpacking-{Guid.NewGuid():N}");
        if (mkdirat(AT_FDCWD, staging, 0x1c0) != 0)
        {
            var errno = LastError;
            throw new IOException($"could not create '{staging}': {Describe(errno)} (errno {errno})");
        }

        try
        {
            var result = await ExtractAsync(layer, mediaType, staging, cancellationToken).ConfigureAwait(false);
            // RENAME_NOREPLACE: a snapshot that appeared meanwhile (a concurrent unpack of the
            // same chain id) is never overwritten or merged into.
            if (renameat2(AT_FDCWD, staging, AT_FDCWD, target, RENAME_NOREPLACE) != 0)
            {
                var errno = LastError;
                throw new IOException($"could not move the snapshot into '{target}': {Describe(errno)} (errno {errno})");
            }

            return result;
        }
        catch
        {
            RemoveStaging(staging);
            throw;
        }
    }

    private async Task<LayerUnpackResult> ExtractAsync(
        Stream layer, string? mediaType, string staging, CancellationToken cancellationToken)
    {
        var (tar, compression) = await LayerDecompression.OpenAsync(layer, mediaType, cancellationToken).ConfigureAwait(false);
        using var root = SafeRoot.Open(staging);
        await using var digesting = new DigestingReadStream(tar, _options.MaxUncompressedBytes);
        var applier = new LayerEntryApplier(root, privileged: geteuid() == 0);
        var entries = 0;
        try
        {
            var reader = new TarReader(new TarFramingGuard(digesting, _options.MaxMetadataEntryBytes), leaveOpen: true);
            await using (reader.ConfigureAwait(false))
            {
                while (await reader.GetNextEntryAsync(copyData: false, cancellationToken).ConfigureAwait(false) is { } entry)
                {
                    if (++entries > _options.MaxEntries)
                    {
                        throw new LayerUnpackException($"layer has more than the limit of {_options.MaxEntries} entries");
                    }

                    await applier.ApplyAsync(entry, cancellationToken).ConfigureAwait(false);
                }
            }

            applier.FinishDirectories();
            var diffId = await digesting.FinishAsync(cancellationToken).ConfigureAwait(false);
            return applier.Stats.ToResult(diffId, compression, digesting.BytesRead, entries);
        }
        catch (Exception e) when (e is InvalidDataException or EndOfStreamException or FormatException or ZstdException or OverflowException)
        {
            throw new LayerUnpackException($"corrupt or truncated layer after {entries} entries: {e.Message}", e);
        }
    }

    private static void RemoveStaging(string staging)
    {
        try
        {
            // Directory.Delete unlinks symlinks without descending into them, so a planted
            // "evil -> /etc" is removed, not what it points to.
            Directory.Delete(staging, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: the original failure is what the caller needs to see; a hidden
            // ".*.unpacking-*" leftover is never taken for a snapshot.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>Running counts of what a layer contained.</summary>
internal sealed class LayerUnpackStats
{
    public int Files { get; set; }

    public long FileBytes { get; set; }

    public int Directories { get; set; }

    public int Symlinks { get; set; }

    public int Hardlinks { get; set; }

    public int Devices { get; set; }

    public int Whiteouts { get; set; }

    public int OpaqueDirectories { get; set; }

    public int SkippedDevices { get; set; }

    public int SkippedXattrs { get; set; }

    public LayerUnpackResult ToResult(Digest diffId, LayerCompression compression, long uncompressedBytes, int entries) =>
        new(diffId, compression, uncompressedBytes, entries, Files, FileBytes, Directories, Symlinks, Hardlinks,
            Devices, Whiteouts, OpaqueDirectories, SkippedDevices, SkippedXattrs);
}
