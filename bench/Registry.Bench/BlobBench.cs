using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;

namespace Registry.Bench;

/// <summary>
/// Blob upload (monolithic and chunked) and download throughput. All targets are measured in the
/// same loop, one repetition each in turn (alternating who goes first), so a burst of unrelated
/// load on the machine hits every target rather than whichever happened to run at that moment.
/// </summary>
internal static class BlobBench
{
    private const double BytesPerMegabyte = 1e6;
    private const double BytesPerGibibyte = 1 << 30;

    public static async Task<int> RunAsync(Options options)
    {
        var repo = options.Get("repo");
        var reps = options.GetInt("reps", 3);
        var getReps = options.GetInt("get-reps", reps);
        var chunkSize = (long)options.GetInt("chunk-mib", 10) << 20;
        var concurrency = options.GetInt("concurrency", 4);
        var results = options.Get("results");
        var clockTicks = options.GetInt("clk-tck", 100);
        var targets = ParseTargets(options.Get("targets"), RegistryCredentials.FromOptions(options), results, clockTicks);
        var nginxUrl = options.GetOptional("nginx");
        var machine = MachineCpu.Create(targets.Select(t => t.Cpu), clockTicks, TimeSpan.FromSeconds(options.GetInt("quiet-wait-s", 90)));

        var hashing = Stopwatch.StartNew();
        using var source = BlobSource.Open(options.Get("file"));
        Console.WriteLine($"  hashed {source.Length >> 20} MiB in {hashing.Elapsed.TotalSeconds:0.00} s");
        try
        {
            // Repetition 0 is the warm-up: same path (JIT, page cache, connections), not recorded.
            await EachAsync(targets, reps, "monolithic upload", async (target, i) =>
            {
                var blob = source.CreateVariant($"{target.Label}-mono-{i}");
                await MeasureUploadAsync(machine, target, "upload_mono", i == 0, blob, () => target.Client.UploadMonolithicAsync(repo, blob));
                target.Uploaded = blob;
            });
            await EachAsync(targets, reps, "chunked upload", async (target, i) =>
            {
                var blob = source.CreateVariant($"{target.Label}-chunked-{i}");
                await MeasureUploadAsync(machine, target, "upload_chunked", i == 0, blob, () => target.Client.UploadChunkedAsync(repo, blob, chunkSize));
            });

            var readers = targets.Where(t => t.Uploaded is not null).Select(t => new Reader(t.Sink, t.Client.Http, t.Client.Url($"v2/{repo}/blobs/{t.Uploaded!.Digest}"), t.Uploaded)).ToList();
            foreach (var target in targets.Where(t => t.Uploaded is null))
            {
                target.Sink.Note("blob GET skipped: no blob could be uploaded");
            }

            using var nginxHttp = RegistryClient.CreateHttpClient();
            if (nginxUrl is not null)
            {
                readers.Add(new Reader(new ResultSink(results, "nginx"), nginxHttp, new Uri(nginxUrl), null));
            }

            // The warm-up read also proves each registry returns exactly the uploaded bytes.
            await EachAsync(readers, 0, "blob GET warm-up", (reader, _) => VerifyAsync(reader, source.Length));
            await EachAsync(readers, getReps, "blob GET", async (reader, i) =>
            {
                if (i > 0)
                {
                    await MeasureGetAsync(machine, reader, "get_single", source.Length, 1);
                }
            });
            await EachAsync(readers, getReps, "concurrent blob GET", async (reader, i) =>
            {
                if (i > 0)
                {
                    await MeasureGetAsync(machine, reader, "get_concurrent", source.Length, concurrency);
                }
            });
            return targets.All(t => !t.Failed) && readers.All(r => !r.Failed) ? 0 : 1;
        }
        finally
        {
            foreach (var target in targets)
            {
                target.Client.Dispose();
            }
        }
    }

    /// <summary>"label=URL@PID,..." (the pid, for CPU accounting, is optional; PID+PID sums replicas).</summary>
    private static List<Target> ParseTargets(string spec, RegistryCredentials? credentials, string results, int clockTicks)
    {
        var targets = new List<Target>();
        foreach (var item in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var (label, rest) = item.Split('=', 2) is [var l, var r] ? (l, r) : throw new BenchException($"bad target '{item}', expected label=URL@PID");
            var at = rest.LastIndexOf('@');
            var url = at < 0 ? rest : rest[..at];
            ProcessCpu? cpu = at < 0 ? null : ProcessCpu.Parse(rest[(at + 1)..], clockTicks);
            targets.Add(new Target(label, new RegistryClient(new Uri(url.TrimEnd('/') + "/"), credentials), cpu, new ResultSink(results, label)));
        }

        return targets.Count > 0 ? targets : throw new BenchException("no --targets");
    }

    /// <summary>
    /// Runs repetitions 0..reps, each on every participant in turn; odd repetitions reverse the order.
    /// A participant that fails is noted and left out of the rest of this section.
    /// </summary>
    private static async Task EachAsync<T>(List<T> participants, int reps, string section, Func<T, int, Task> body)
        where T : Participant
    {
        var failed = new HashSet<T>();
        for (var i = 0; i <= reps; i++)
        {
            var order = i % 2 == 0 ? participants : Enumerable.Reverse(participants).ToList();
            foreach (var participant in order.Where(p => !failed.Contains(p)))
            {
                try
                {
                    await body(participant, i);
                }
                catch (Exception e) when (e is BenchException or HttpRequestException or IOException or TaskCanceledException)
                {
                    participant.Sink.Note($"{section} failed: {e.Message}");
                    participant.Failed = true;
                    failed.Add(participant);
                }
            }
        }
    }

    private static async Task MeasureUploadAsync(MachineCpu machine, Target target, string metric, bool warmUp, BlobVariant blob, Func<Task> upload)
    {
        FlushDirtyPages();
        if (!warmUp)
        {
            await machine.WaitForQuietAsync();
        }

        var others = machine.Start();
        var cpuBefore = target.Cpu?.ReadSeconds() ?? 0;
        var clock = Stopwatch.StartNew();
        await upload();
        var seconds = clock.Elapsed.TotalSeconds;
        var cpuSeconds = (target.Cpu?.ReadSeconds() ?? 0) - cpuBefore;
        if (warmUp)
        {
            Console.WriteLine($"  {target.Label} warm-up {metric}: {blob.Length / seconds / BytesPerMegabyte:0} MB/s");
            return;
        }

        target.Sink.Add($"{metric}_mbps", blob.Length / seconds / BytesPerMegabyte);
        if (target.Cpu is not null)
        {
            target.Sink.Add($"{metric}_cpu_s", cpuSeconds / (blob.Length / BytesPerGibibyte));
        }

        target.Sink.Add($"info_other_cpu_during_{metric}", others.OtherPercent());
    }

    private static async Task MeasureGetAsync(MachineCpu machine, Reader reader, string metric, long length, int concurrency)
    {
        await machine.WaitForQuietAsync();
        var others = machine.Start();
        reader.Sink.Add($"{metric}_mbps", await GetAllAsync(reader, length, concurrency));
        // nginx's own CPU is not subtracted (its workers' pids are unknown here), so only registries get this figure.
        if (reader.Expected is not null)
        {
            reader.Sink.Add($"info_other_cpu_during_{metric}", others.OtherPercent());
        }
    }

    private static async Task VerifyAsync(Reader reader, long length)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var read = await RegistryClient.DrainAsync(reader.Http, reader.Url, hash);
        var digest = "sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset());
        if (read != length || (reader.Expected is { } expected && digest != expected.Digest))
        {
            throw new BenchException($"GET returned {read} bytes with {digest}, expected {length} bytes{(reader.Expected is null ? "" : " with " + reader.Expected.Digest)}");
        }
    }

    /// <summary>Runs <paramref name="concurrency"/> full GETs at once and returns the aggregate MB/s.</summary>
    private static async Task<double> GetAllAsync(Reader reader, long length, int concurrency)
    {
        var clock = Stopwatch.StartNew();
        var lengths = await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => RegistryClient.DrainAsync(reader.Http, reader.Url)));
        var seconds = clock.Elapsed.TotalSeconds;
        if (lengths.Any(l => l != length))
        {
            throw new BenchException($"GET {reader.Url.AbsolutePath} returned {string.Join(", ", lengths)} bytes, expected {length}");
        }

        return lengths.Sum() / seconds / BytesPerMegabyte;
    }

    /// <summary>
    /// Each upload starts with no dirty pages left from the previous one, so background writeback
    /// of an earlier repetition (or the other registry) does not slow the one being measured.
    /// </summary>
    private static void FlushDirtyPages()
    {
        using var sync = Process.Start(new ProcessStartInfo("sync") { UseShellExecute = false });
        if (sync is not null && !sync.WaitForExit(TimeSpan.FromMinutes(3)))
        {
            throw new BenchException("sync did not finish within 3 minutes");
        }
    }

    /// <summary>Runs one section; a failure becomes a note in the results instead of ending the whole run.</summary>
    public static async Task<int> GuardAsync(ResultSink sink, string section, Func<Task> body)
    {
        try
        {
            await body();
            return 0;
        }
        catch (Exception e) when (e is BenchException or HttpRequestException or IOException or TaskCanceledException)
        {
            sink.Note($"{section} failed: {e.Message}");
            return 1;
        }
    }

    private abstract class Participant(ResultSink sink)
    {
        public ResultSink Sink { get; } = sink;

        public bool Failed { get; set; }
    }

    private sealed class Target(string label, RegistryClient client, ProcessCpu? cpu, ResultSink sink) : Participant(sink)
    {
        public string Label { get; } = label;

        public RegistryClient Client { get; } = client;

        public ProcessCpu? Cpu { get; } = cpu;

        public BlobVariant? Uploaded { get; set; }
    }

    /// <summary>Something to GET: a registry's uploaded blob, or nginx's copy of the file (Expected null).</summary>
    private sealed class Reader(ResultSink sink, HttpClient http, Uri url, BlobVariant? expected) : Participant(sink)
    {
        public HttpClient Http { get; } = http;

        public Uri Url { get; } = url;

        public BlobVariant? Expected { get; } = expected;
    }
}
