using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Registry.Bench;

/// <summary>
/// The garbage-collection benchmark's steps that talk HTTP (bench/gc.sh drives them): filling a registry with blobs
/// that no manifest references, and timing one collection run of our registry through its admin API. The reference
/// registry collects offline, so the script times its <c>garbage-collect</c> command itself.
/// </summary>
internal static class GcBench
{
    private const double BytesPerMegabyte = 1e6;

    /// <summary>
    /// <c>push-blobs</c>: COUNT random blobs of BYTES each, POST+PUT (the monolithic flow both registries support),
    /// spread round-robin over REPOS repositories PREFIX0..PREFIXn, CONCURRENCY in flight. Setup, so its rate is info.
    /// </summary>
    public static async Task<int> PushBlobsAsync(Options options)
    {
        var prefix = options.Get("repo-prefix");
        var repos = Math.Max(1, options.GetInt("repos", 10));
        var count = options.GetInt("count", 100_000);
        var size = options.GetInt("bytes", 1024);
        var metric = options.Get("metric");
        var sink = new ResultSink(options.Get("results"), options.Get("label"));
        using var client = new RegistryClient(options.GetUri("base"), RegistryCredentials.FromOptions(options));

        return await BlobBench.GuardAsync(sink, $"{metric}: pushing {count} blobs", async () =>
        {
            var done = 0;
            var clock = Stopwatch.StartNew();
            await Parallel.ForEachAsync(
                Enumerable.Range(0, count),
                new ParallelOptions { MaxDegreeOfParallelism = options.GetInt("concurrency", 8) },
                async (i, _) =>
                {
                    var data = new byte[size];
                    RandomNumberGenerator.Fill(data);
                    await client.UploadSmallAsync($"{prefix}{i % repos}", data, ManifestBench.Digest(data));
                    var pushed = Interlocked.Increment(ref done);
                    if (pushed % 10_000 == 0)
                    {
                        Console.WriteLine($"  {metric}: {pushed} of {count} blobs pushed ({pushed / clock.Elapsed.TotalSeconds:0}/s)");
                    }
                });
            sink.Add($"info_{metric}_push_blobs_per_s", count / clock.Elapsed.TotalSeconds);
        });
    }

    /// <summary>
    /// <c>push-large</c>: COUNT blobs the size of FILE, each a variant of it with its own digest (see
    /// <see cref="BlobSource"/>), streamed from disk one after the other with POST+PUT.
    /// </summary>
    public static async Task<int> PushLargeAsync(Options options)
    {
        var repo = options.Get("repo");
        var count = options.GetInt("count", 10);
        var metric = options.Get("metric");
        var label = options.Get("label");
        var sink = new ResultSink(options.Get("results"), label);
        using var client = new RegistryClient(options.GetUri("base"), RegistryCredentials.FromOptions(options));
        using var source = BlobSource.Open(options.Get("file"));

        return await BlobBench.GuardAsync(sink, $"{metric}: pushing {count} large blobs", async () =>
        {
            var clock = Stopwatch.StartNew();
            for (var i = 0; i < count; i++)
            {
                await client.UploadMonolithicAsync(repo, source.CreateVariant($"{label}-{metric}-{i}"));
                Console.WriteLine($"  {metric}: {i + 1} of {count} blobs of {source.Length >> 20} MiB pushed");
            }

            sink.Add($"info_{metric}_push_mbps", count * source.Length / clock.Elapsed.TotalSeconds / BytesPerMegabyte);
        });
    }

    /// <summary>
    /// <c>gc-run</c>: one collection run of our registry (<c>POST /api/v1/admin/gc</c>), timed by the client, with the
    /// server's CPU time over it; records its report and checks the counts against what the script pushed.
    /// </summary>
    public static async Task<int> GcRunAsync(Options options)
    {
        var metric = options.Get("metric");
        var sink = new ResultSink(options.Get("results"), options.Get("label"));
        var server = ProcessCpu.Parse(options.Get("pid"), options.GetInt("clk-tck", 100));
        var admin = RegistryCredentials.FromOptions(options) ?? throw new BenchException("gc-run needs --user and --password-env");
        return await BlobBench.GuardAsync(sink, $"{metric} run", async () =>
        {
            var run = await CollectAsync(options.GetUri("base"), admin, server, CancellationToken.None);
            Record(sink, metric, run);
            Expect(sink, metric, "blobs", run.Report.Blobs, options.GetOptional("expect-blobs"));
            Expect(sink, metric, "bytes", run.Report.Bytes, options.GetOptional("expect-bytes"));
        });
    }

    /// <summary>POSTs a real (not dry) collection run and waits for its report; the server CPU is read around it.</summary>
    public static async Task<GcRun> CollectAsync(Uri baseUri, RegistryCredentials admin, ProcessCpu server, CancellationToken ct)
    {
        using var http = RegistryClient.CreateHttpClient();
        // A run over a large backlog can outlast the client's default 10 minutes; gc.sh bounds the whole command.
        http.Timeout = TimeSpan.FromHours(2);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseUri, "api/v1/admin/gc"))
        {
            Content = new StringContent("""{"dryRun":false}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = admin.BasicHeader();
        var cpuBefore = server.ReadSeconds();
        var clock = Stopwatch.StartNew();
        using var response = await http.SendAsync(request, ct);
        var body = await response.Content.ReadAsStringAsync(ct);
        var seconds = clock.Elapsed.TotalSeconds;
        var cpu = server.ReadSeconds() - cpuBefore;
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new BenchException($"POST /api/v1/admin/gc answered {(int)response.StatusCode} {body.Trim()}");
        }

        Console.WriteLine($"  gc report: {body.Trim()}");
        var report = JsonSerializer.Deserialize<GcReportBody>(body, JsonSerializerOptions.Web)
            ?? throw new BenchException($"POST /api/v1/admin/gc answered {body}");
        return new GcRun(seconds, cpu, report);
    }

    /// <summary>Wall and CPU seconds (the ones the report compares) and the run's own counts as info rows.</summary>
    public static void Record(ResultSink sink, string metric, GcRun run)
    {
        sink.Add($"{metric}_s", run.Seconds);
        sink.Add($"{metric}_cpu_s", run.CpuSeconds);
        sink.Add($"info_{metric}_reported_duration_s", run.Report.DurationSeconds);
        sink.Add($"info_{metric}_blobs", run.Report.Blobs);
        sink.Add($"info_{metric}_bytes", run.Report.Bytes);
        sink.Add($"info_{metric}_links", run.Report.Links);
        sink.Add($"info_{metric}_orphan_files", run.Report.OrphanFiles);
        sink.Add($"info_{metric}_manifests", run.Report.Manifests);
        sink.Add($"info_{metric}_repositories", run.Report.Repositories);
        sink.Add($"info_{metric}_pending", run.Report.Pending);
    }

    internal static void Expect(ResultSink sink, string metric, string what, long actual, string? expected)
    {
        if (expected is not null && long.Parse(expected, CultureInfo.InvariantCulture) != actual)
        {
            sink.Note($"{metric}: the run reported {actual} {what} collected, {expected} were pushed without a manifest");
        }
    }

    /// <summary>The fields of our registry's GC report that the benchmark uses.</summary>
    internal sealed record GcReportBody(int Blobs, int Manifests, long Bytes, int Links, int OrphanFiles, int Repositories, int Pending, double DurationSeconds);

    internal sealed record GcRun(double Seconds, double CpuSeconds, GcReportBody Report);
}
