using System.Globalization;
using Registry.Core;

namespace Registry.Node.Content;

public enum BlobState
{
    /// <summary>Queued behind the download limit.</summary>
    Waiting,

    Downloading,

    /// <summary>Present in the store before this pull; not downloaded.</summary>
    AlreadyExists,

    /// <summary>Downloaded, digest and size verified, moved into the store; its unpack is yet to come.</summary>
    Downloaded,

    /// <summary>Being unpacked into its snapshot(s).</summary>
    Extracting,

    /// <summary>Done: downloaded, verified and moved into the store, and unpacked when the pull makes snapshots.</summary>
    Complete,

    Failed,
}

/// <summary>One blob's progress: bytes done of total. <see cref="ResumedFrom"/> &gt; 0 when a partial download was continued.</summary>
public sealed record BlobProgress(Digest Digest, BlobState State, long Done, long Total, long ResumedFrom = 0, string? Error = null)
{
    /// <summary>The first 12 hex characters, as docker shows layers.</summary>
    public string ShortId => Digest.Encoded.Length > 12 ? Digest.Encoded[..12] : Digest.Encoded;
}

/// <summary>
/// Receives progress of a pull's downloads. Called from several downloads at once, so
/// implementations must be thread-safe. A terminal renderer (a bar per blob) implements the same.
/// </summary>
public interface IPullProgress
{
    void Report(BlobProgress progress);
}

/// <summary>Progress as plain lines, one per state change (for logs and pipes, where bars would be noise).</summary>
public sealed class PlainLinesProgress : IPullProgress
{
    private readonly TextWriter _writer;
    private readonly Lock _lock = new();
    private readonly Dictionary<Digest, BlobState> _last = [];

    public PlainLinesProgress(TextWriter writer)
    {
        _writer = writer;
    }

    public void Report(BlobProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        lock (_lock)
        {
            if (_last.TryGetValue(progress.Digest, out var previous) && previous == progress.State)
            {
                return;
            }

            _last[progress.Digest] = progress.State;
            var line = progress.State switch
            {
                BlobState.Waiting => "waiting",
                BlobState.Downloading when progress.ResumedFrom > 0 => $"resuming at {Size(progress.ResumedFrom)} of {Size(progress.Total)}",
                BlobState.Downloading => $"downloading {Size(progress.Total)}",
                BlobState.AlreadyExists => "already exists",
                BlobState.Downloaded => "download complete",
                BlobState.Extracting => "extracting",
                BlobState.Complete => "pull complete",
                BlobState.Failed => $"failed: {progress.Error}",
                _ => progress.State.ToString(),
            };
            _writer.WriteLine($"{progress.ShortId}: {line}");
        }
    }

    public static string Size(long bytes) => bytes switch
    {
        < 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes} B"),
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:0.0} kB"),
        < 1024L * 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024):0.0} MB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / (1024.0 * 1024 * 1024):0.00} GB"),
    };
}
