using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;

namespace Registry.Bench;

/// <summary>
/// Pushes of small images (config + one 1 KiB layer + OCI manifest, each image new) by several clients at once: the
/// push rate alone, or while one of our registry's collection runs goes on (<c>--during-gc</c>); and afterwards a check
/// that every image pushed is still whole. The layer is random bytes, not a tar: neither registry looks inside.
/// </summary>
internal static class ImagePushBench
{
    private const int LayerBytes = 1024;
    private const int MaxFailures = 100;
    private const int MaxNotes = 3;

    /// <summary>
    /// <c>push-images</c>: WARMUP unrecorded images, then up to COUNT images from CLIENTS workers into repositories
    /// PREFIX0..PREFIX(CLIENTS-1). With --during-gc a collection run starts first and the workers stop taking new
    /// images when it ends, so the rate is the rate while it ran. Every image pushed is appended to --list.
    /// </summary>
    public static async Task<int> PushAsync(Options options)
    {
        var prefix = options.Get("repo-prefix");
        var count = options.GetInt("count", 2000);
        var clients = Math.Max(1, options.GetInt("clients", 8));
        var metric = options.Get("metric");
        var label = options.Get("label");
        var sink = new ResultSink(options.Get("results"), label);
        var credentials = RegistryCredentials.FromOptions(options);
        var baseUri = options.GetUri("base");
        using var client = new RegistryClient(baseUri, credentials);
        var pushed = new ConcurrentQueue<PushedImage>();
        var errors = new ConcurrentQueue<string>();
        var runId = Guid.NewGuid().ToString("N")[..12];

        // Warm-up: JIT, connections and tokens for every repository, before anything is measured.
        var warmup = await PushManyAsync(client, prefix, $"{runId}w", options.GetInt("warmup", 2 * clients), clients, null, pushed, errors);
        if (warmup.Failed > 0)
        {
            sink.Note($"{metric}: {warmup.Failed} warm-up pushes failed, first: {errors.FirstOrDefault()}");
            await WriteListAsync(options.Get("list"), pushed);
            return 1;
        }

        Task<GcBench.GcRun>? gc = null;
        if (options.GetOptional("during-gc") == "true")
        {
            var server = ProcessCpu.Parse(options.Get("pid"), options.GetInt("clk-tck", 100));
            gc = GcBench.CollectAsync(baseUri, credentials ?? throw new BenchException("--during-gc needs --user and --password-env"), server, CancellationToken.None);
        }

        var clock = Stopwatch.StartNew();
        var outcome = await PushManyAsync(client, prefix, runId, count, clients, gc, pushed, errors);
        var seconds = clock.Elapsed.TotalSeconds;
        sink.Add($"{metric}_images_per_s", outcome.Pushed / seconds);
        if (outcome.Latencies.Count > 0)
        {
            var sorted = outcome.Latencies.Order().ToList();
            sink.Add($"{metric}_p50_ms", sorted[sorted.Count / 2]);
            sink.Add($"{metric}_p99_ms", sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * 0.99))]);
            sink.Add($"{metric}_max_ms", sorted[^1]);
        }

        sink.Add($"info_{metric}_images", outcome.Pushed);
        sink.Add($"info_{metric}_push_window_s", seconds);
        sink.Add($"info_{metric}_failed_pushes", outcome.Failed);
        foreach (var error in errors.Take(MaxNotes))
        {
            sink.Note($"{metric}: push failed: {error}");
        }

        await WriteListAsync(options.Get("list"), pushed);
        if (gc is null)
        {
            return outcome.Failed == 0 ? 0 : 1;
        }

        sink.Add($"info_{metric}_gc_ended_first", gc.IsCompleted ? 1 : 0);
        return await BlobBench.GuardAsync(sink, $"{metric}: collection run", async () =>
            {
                var run = await gc;
                GcBench.Record(sink, $"{metric}_gc", run);
                GcBench.Expect(sink, $"{metric}_gc", "blobs", run.Report.Blobs, options.GetOptional("expect-blobs"));
            })
            + (outcome.Failed == 0 ? 0 : 1);
    }

    /// <summary><c>verify-images</c>: each image of --list must still answer its manifest by tag and both its blobs.</summary>
    public static async Task<int> VerifyAsync(Options options)
    {
        var metric = options.Get("metric");
        var sink = new ResultSink(options.Get("results"), options.Get("label"));
        using var client = new RegistryClient(options.GetUri("base"), RegistryCredentials.FromOptions(options));
        var images = (await File.ReadAllLinesAsync(options.Get("list")))
            .Select(line => line.Split('\t'))
            .Where(fields => fields.Length == 5)
            .Select(f => new PushedImage(f[0], f[1], f[2], f[3], f[4]))
            .ToList();
        var broken = new ConcurrentQueue<string>();
        await Parallel.ForEachAsync(images, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (image, _) =>
        {
            if (await CheckAsync(client, image) is { } problem)
            {
                broken.Enqueue($"{image.Repo}:{image.Tag} {problem}");
            }
        });
        sink.Add($"info_{metric}_checked", images.Count);
        sink.Add($"{metric}_broken", broken.Count);
        foreach (var problem in broken.Take(MaxNotes))
        {
            sink.Note($"{metric}: image pushed earlier is no longer whole: {problem}");
        }

        return broken.IsEmpty ? 0 : 1;
    }

    /// <summary>Pushes until COUNT images were taken, STOPWHENDONE completed, or too many failed; each image's time in ms.</summary>
    private static async Task<(int Pushed, int Failed, List<double> Latencies)> PushManyAsync(
        RegistryClient client, string prefix, string runId, int count, int clients, Task? stopWhenDone, ConcurrentQueue<PushedImage> pushed, ConcurrentQueue<string> errors)
    {
        var next = -1;
        var done = 0;
        var latencies = new ConcurrentQueue<double>();
        var failed = 0;
        var workers = Enumerable.Range(0, clients).Select(async worker =>
        {
            while (stopWhenDone is not { IsCompleted: true } && Volatile.Read(ref failed) < MaxFailures)
            {
                var n = Interlocked.Increment(ref next);
                if (n >= count)
                {
                    return;
                }

                try
                {
                    var started = Stopwatch.GetTimestamp();
                    pushed.Enqueue(await PushOneAsync(client, $"{prefix}{worker}", $"{runId}-{n:D6}"));
                    latencies.Enqueue(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    Interlocked.Increment(ref done);
                }
                catch (Exception e) when (e is BenchException or HttpRequestException or IOException or TaskCanceledException)
                {
                    Interlocked.Increment(ref failed);
                    errors.Enqueue(e.Message);
                }
            }
        });
        await Task.WhenAll(workers);
        return (done, failed, latencies.ToList());
    }

    /// <summary>Layer, then config, then the manifest by tag: the order a client pushes in.</summary>
    private static async Task<PushedImage> PushOneAsync(RegistryClient client, string repo, string tag)
    {
        var layer = new byte[LayerBytes];
        RandomNumberGenerator.Fill(layer);
        var layerDigest = ManifestBench.Digest(layer);
        var config = JsonSerializer.SerializeToUtf8Bytes(new
        {
            architecture = DockerArchive.Architecture,
            os = "linux",
            config = new { Labels = new Dictionary<string, string> { ["bench.image"] = tag } },
            rootfs = new { type = "layers", diff_ids = new[] { layerDigest } },
        });
        var configDigest = ManifestBench.Digest(config);
        await client.UploadSmallAsync(repo, layer, layerDigest);
        await client.UploadSmallAsync(repo, config, configDigest);
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = ManifestBench.ManifestMediaType,
            config = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = configDigest, size = config.Length },
            layers = new[] { new { mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", digest = layerDigest, size = layer.Length } },
        });
        await client.PutManifestAsync(repo, tag, manifest, ManifestBench.ManifestMediaType);
        return new PushedImage(repo, tag, ManifestBench.Digest(manifest), configDigest, layerDigest);
    }

    /// <summary>Null when the image is whole, else what is wrong with it.</summary>
    private static async Task<string?> CheckAsync(RegistryClient client, PushedImage image)
    {
        try
        {
            var manifest = await client.GetManifestAsync(image.Repo, image.Tag, ManifestBench.Accept);
            if (ManifestBench.Digest(manifest) != image.ManifestDigest)
            {
                return "manifest has changed";
            }

            foreach (var digest in new[] { image.ConfigDigest, image.LayerDigest })
            {
                if (await client.HeadBlobAsync(image.Repo, digest) is var status and not HttpStatusCode.OK)
                {
                    return $"HEAD blob {digest} answered {(int)status}";
                }
            }

            return null;
        }
        catch (Exception e) when (e is BenchException or HttpRequestException or IOException or TaskCanceledException)
        {
            return e.Message;
        }
    }

    private static Task WriteListAsync(string path, IEnumerable<PushedImage> images) =>
        File.AppendAllLinesAsync(path, images.Select(i => $"{i.Repo}\t{i.Tag}\t{i.ManifestDigest}\t{i.ConfigDigest}\t{i.LayerDigest}"));

    private sealed record PushedImage(string Repo, string Tag, string ManifestDigest, string ConfigDigest, string LayerDigest);
}
