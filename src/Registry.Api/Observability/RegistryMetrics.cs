using Prometheus;
using Registry.Storage.Gc;
using Registry.Storage.Observability;

namespace Registry.Api.Observability;

/// <summary>
/// The registry's Prometheus metrics, in a collector registry of this host's own (what <c>/metrics</c> serves), with
/// the process's CPU, memory and .NET runtime figures beside them. Storage reports through <see cref="IStorageMetrics"/>;
/// garbage collection's totals (<see cref="GcMetrics"/>) are read at each scrape. docs/observability.md lists every
/// metric and its labels.
/// </summary>
public sealed class RegistryMetrics : IStorageMetrics
{
    /// <summary>From 5 ms to about 41 s, doubling.</summary>
    private static readonly double[] DurationBuckets = Histogram.ExponentialBuckets(0.005, 2, 14);

    private readonly Counter _requests;
    private readonly Histogram _requestDuration;
    private readonly Counter _bytesReceived;
    private readonly Counter _bytesSent;
    private readonly Histogram _chunkDuration;
    private readonly Histogram _commitDuration;
    private readonly Counter _storageErrors;
    private readonly Counter _bytesRehashed;

    public RegistryMetrics(GcMetrics gc)
    {
        Registry = Metrics.NewCustomRegistry();
        DotNetStats.Register(Registry);
        var factory = Metrics.WithCustomRegistry(Registry);
        _requests = factory.CreateCounter(
            "registry_http_requests_total", "HTTP requests answered, by method, route template and status code.", "method", "route", "code");
        _requestDuration = factory.CreateHistogram(
            "registry_http_request_duration_seconds", "Time from a request's arrival to the end of its answer, by method and route template.",
            ["method", "route"], new HistogramConfiguration { Buckets = DurationBuckets });
        _bytesReceived = factory.CreateCounter("registry_blob_bytes_received_total", "Bytes of blob uploads written to staged uploads.");
        _bytesSent = factory.CreateCounter("registry_blob_bytes_sent_total", "Bytes of blobs served by blob GETs that completed (redirects send none).");
        _chunkDuration = factory.CreateHistogram(
            "registry_upload_chunk_duration_seconds", "Time to receive, hash and store one upload chunk.",
            new HistogramConfiguration { Buckets = DurationBuckets });
        _commitDuration = factory.CreateHistogram(
            "registry_upload_commit_duration_seconds", "Time to verify an upload's digest and commit it under the digest.",
            new HistogramConfiguration { Buckets = DurationBuckets });
        _storageErrors = factory.CreateCounter("registry_storage_errors_total", "Blob store calls that failed, by operation.", "operation");
        _bytesRehashed = factory.CreateCounter(
            "registry_upload_bytes_rehashed_total", "Bytes of uploads read back from staging and hashed again because no saved hash state covered them.");

        var queueDepth = factory.CreateGauge("registry_gc_queue_depth", "Reviews left in the garbage collection queue after this process's last collection run.");
        var runs = factory.CreateCounter("registry_gc_runs_total", "Garbage collection runs of this process.");
        var blobs = factory.CreateCounter("registry_gc_blobs_collected_total", "Blobs removed by garbage collection in this process.");
        var bytes = factory.CreateCounter("registry_gc_bytes_collected_total", "Bytes of blobs removed by garbage collection in this process.");
        var manifests = factory.CreateCounter("registry_gc_manifests_collected_total", "Manifests removed by garbage collection in this process.");
        Registry.AddBeforeCollectCallback(() =>
        {
            queueDepth.Set(gc.QueueDepth);
            runs.IncTo(gc.Runs);
            blobs.IncTo(gc.BlobsCollected);
            bytes.IncTo(gc.BytesCollected);
            manifests.IncTo(gc.ManifestsCollected);
        });
    }

    public CollectorRegistry Registry { get; }

    public void RequestAnswered(string method, string route, int status, TimeSpan elapsed)
    {
        _requests.WithLabels(method, route, status.ToString(System.Globalization.CultureInfo.InvariantCulture)).Inc();
        _requestDuration.WithLabels(method, route).Observe(elapsed.TotalSeconds);
    }

    public void BytesSent(long bytes) => _bytesSent.Inc(bytes);

    public void BytesReceived(long bytes) => _bytesReceived.Inc(bytes);

    public void BytesRehashed(long bytes) => _bytesRehashed.Inc(bytes);

    public void ChunkStored(TimeSpan elapsed) => _chunkDuration.Observe(elapsed.TotalSeconds);

    public void UploadCommitted(TimeSpan elapsed) => _commitDuration.Observe(elapsed.TotalSeconds);

    public void StorageError(string operation) => _storageErrors.WithLabels(operation).Inc();
}
