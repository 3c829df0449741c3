using System.Text;
using Registry.Node.Snapshots;
using Registry.Testing;

namespace Registry.Node.Tests.Snapshots;

/// <summary>
/// A temp tree for one test: <c>outside/sentinel</c> stands for the host, <c>snapshots/</c>
/// holds the snapshot being unpacked. The snapshot sits two levels below the tree's root so that
/// a relative escape like <c>../../outside</c> from the snapshot's root would reach the sentinel.
/// </summary>
internal sealed class SnapshotSandbox : IDisposable
{
    public const string SentinelContent = "host data";

    private readonly TemporaryDirectory _temp = new("registry-snapshot");

    public SnapshotSandbox()
    {
        Directory.CreateDirectory(Outside);
        Directory.CreateDirectory(Snapshots);
        System.IO.File.WriteAllText(Sentinel, SentinelContent);
    }

    public string Root => _temp.Path;

    public string Outside => Path.Combine(Root, "outside");

    public string Sentinel => Path.Combine(Outside, "sentinel");

    public string Snapshots => Path.Combine(Root, "snapshots");

    public string Snapshot => Path.Combine(Snapshots, "layer");

    public string In(string relative) => Path.Combine(Snapshot, relative);

    public Task<LayerUnpackResult> UnpackAsync(TestLayer layer, LayerCompression compression = LayerCompression.None, LayerUnpackOptions? options = null) =>
        UnpackAsync(layer.Blob(compression), TestLayer.MediaType(compression), options);

    public async Task<LayerUnpackResult> UnpackAsync(byte[] blob, string? mediaType, LayerUnpackOptions? options = null)
    {
        using var stream = new MemoryStream(blob, writable: false);
        return await new LayerUnpacker(options).UnpackAsync(stream, mediaType, Snapshot, CancellationToken.None);
    }

    /// <summary>Every path under the tree's root except inside the finished snapshot.</summary>
    public IReadOnlyList<string> EverythingOutsideTheSnapshot() =>
        Directory.EnumerateFileSystemEntries(Root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Where(p => p != Snapshot && !p.StartsWith(Snapshot + "/", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>The host is as the sandbox made it: only the sentinel, unchanged, with one link.</summary>
    public async Task AssertHostUntouchedAsync()
    {
        Assert.Equal([Outside, Sentinel, Snapshots], EverythingOutsideTheSnapshot());
        Assert.Equal(SentinelContent, await System.IO.File.ReadAllTextAsync(Sentinel, Encoding.UTF8));
        Assert.Equal("1", (await Stat.FormatAsync(Sentinel, "%h")));
    }

    public void Dispose() => _temp.Dispose();
}

/// <summary>lstat through coreutils' stat: what the kernel says, not what our code thinks.</summary>
internal static class Stat
{
    public static async Task<string> FormatAsync(string path, string format)
    {
        var result = await ProcessRunner.RunAsync("stat", ["-c", format, path]);
        return result.EnsureSuccess().StandardOutput.Trim();
    }

    public static string? Xattr(string path, string name)
    {
        var buffer = new byte[256];
        var n = Registry.Node.Snapshots.SnapshotSyscalls.lgetxattr(path, name, buffer, (nuint)buffer.Length);
        return n < 0 ? null : Encoding.UTF8.GetString(buffer, 0, (int)n);
    }

    public static bool IsRoot => Registry.Node.Snapshots.SnapshotSyscalls.geteuid() == 0;
}
