namespace Registry.Storage.Gc;

/// <summary>What this process's collection runs removed since it started, for monitoring.</summary>
public sealed class GcMetrics
{
    private long _runs;
    private long _blobs;
    private long _bytes;
    private long _manifests;
    private long _pending;

    public long Runs => Interlocked.Read(ref _runs);

    public long BlobsCollected => Interlocked.Read(ref _blobs);

    public long BytesCollected => Interlocked.Read(ref _bytes);

    public long ManifestsCollected => Interlocked.Read(ref _manifests);

    /// <summary>Reviews queued after the last run of this process.</summary>
    public long QueueDepth => Interlocked.Read(ref _pending);

    internal void Record(GcReport report)
    {
        Interlocked.Increment(ref _runs);
        Interlocked.Add(ref _blobs, report.Blobs);
        Interlocked.Add(ref _bytes, report.Bytes);
        Interlocked.Add(ref _manifests, report.Manifests);
        Interlocked.Exchange(ref _pending, report.Pending);
    }
}
