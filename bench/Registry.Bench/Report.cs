using System.Globalization;
using System.Text;

namespace Registry.Bench;

/// <summary>Turns the run's results rows into the Markdown report (medians, ours/reference ratios, aims).</summary>
internal static class Report
{
    private const string Ours = "ours";
    private const string Reference = "reference";
    private const string Nginx = "nginx";
    private const string OtherCpuPrefix = "other_cpu_percent_before_";
    private const string OtherCpuDuringPrefix = "other_cpu_during_";

    public static int Run(Options options)
    {
        var rows = File.ReadAllLines(options.Get("results"))
            .Select(line => line.Split('\t', 3))
            .Where(parts => parts.Length == 3)
            .ToList();
        var meta = File.ReadAllLines(options.Get("meta"))
            .Select(line => line.Split('\t', 2))
            .Where(parts => parts.Length == 2)
            .GroupBy(parts => parts[0], StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Last()[1], StringComparer.Ordinal);
        var values = rows
            .Where(r => r[1] != "note")
            .GroupBy(r => (Label: r[0], Metric: r[1]))
            .ToDictionary(g => g.Key, g => g.Select(r => double.Parse(r[2], CultureInfo.InvariantCulture)).ToList());
        var notes = rows.Where(r => r[1] == "note").Select(r => $"{r[0]}: {r[2]}").ToList();
        var order = rows.Where(r => r[1] != "note").Select(r => (r[0], r[1])).Distinct().ToList();
        foreach (var ((label, metric), list) in values.Where(v => v.Key.Metric.StartsWith("info_" + OtherCpuDuringPrefix, StringComparison.Ordinal)))
        {
            var busy = list.Count(v => v >= 20);
            if (busy > 0)
            {
                notes.Add($"{label}: {busy} of {list.Count} {metric[("info_" + OtherCpuDuringPrefix).Length..]} repetitions ran while other processes used 20% or more of the CPU");
            }
        }


        var markdown = Render(meta, values, order, notes);
        File.WriteAllText(options.Get("out"), markdown);
        Console.WriteLine(markdown);
        return 0;
    }

    private static string Render(
        Dictionary<string, string> meta,
        Dictionary<(string Label, string Metric), List<double>> values,
        List<(string Label, string Metric)> order,
        List<string> notes)
    {
        string M(string key) => meta.GetValueOrDefault(key, "?");
        double? Median(string label, string metric) =>
            values.TryGetValue((label, metric), out var list) && list.Count > 0 ? MedianOf(list) : null;

        var blob = SizeText(int.Parse(M("blob_mib"), CultureInfo.InvariantCulture));
        var client = SizeText(int.Parse(meta.GetValueOrDefault("client_mib", "512"), CultureInfo.InvariantCulture));
        var metrics = new Metric[]
        {
            new("curl_upload_fresh_mbps", $"`curl -T` blob upload {client}, first request to a freshly started server (MB/s)", true, "0", null),
            new("curl_upload_mbps", $"`curl -T` blob upload {client}, later requests (MB/s)", true, "0", null),
            new("curl_upload_cpu_s", "Server CPU during `curl -T` uploads (CPU-s per GiB)", false, "0.00", null),
            new("fresh_manifest_rps", $"Manifest GET by tag, wrk {M("wrk_connections")} connections, freshly started server, no warm-up (req/s)", true, "0", null),
            new("fresh_manifest_p99_ms", "Manifest GET by tag, freshly started server, p99 latency (ms)", false, "0.00", null),
            new("upload_mono_mbps", $"Blob upload {blob}, monolithic POST+PUT (MB/s)", true, "0", Aim.Ratio(3, atLeast: true)),
            new("upload_mono_cpu_s", "Server CPU during monolithic upload (CPU-s per GiB)", false, "0.00", null),
            new("upload_chunked_mbps", $"Blob upload {blob}, {M("chunk_mib")} MiB PATCH chunks (MB/s)", true, "0", Aim.Ratio(3, atLeast: true)),
            new("upload_chunked_cpu_s", "Server CPU during chunked upload (CPU-s per GiB)", false, "0.00", null),
            new("get_single_mbps", $"Blob GET {blob}, one stream (MB/s)", true, "0", Aim.OfNginx(0.95)),
            new("get_concurrent_mbps", $"Blob GET {blob}, {M("concurrency")} concurrent streams (aggregate MB/s)", true, "0", Aim.OfNginx(0.95)),
            new("manifest_rps", $"Manifest GET by tag, wrk {M("wrk_connections")} connections (req/s)", true, "0", Aim.Ratio(5, atLeast: true)),
            new("manifest_p99_ms", "Manifest GET by tag, p99 latency (ms)", false, "0.00", Aim.Ratio(0.2, atLeast: false)),
            new("tags_push_s", $"Push {M("tags")} tags on one manifest, 4 in flight (s)", false, "0.00", null),
            new("tags_list_mean_ms", $"Tags list of {M("tags")} tags, one client, mean (ms)", false, "0.00", null),
            new("tags_list_rps", $"Tags list of {M("tags")} tags, wrk {M("tags_wrk_connections")} connections (req/s)", true, "0", null),
            new("docker_push_s", $"docker push, {M("docker_layers")} layers x {M("docker_layer_mib")} MiB random (s)", false, "0.00", Aim.Ratio(0.6, atLeast: false)),
            new("docker_pull_s", "docker pull of the same image (s)", false, "0.00", Aim.Ratio(0.9, atLeast: false)),
        };

        var text = new StringBuilder();
        text.AppendLine("# Registry benchmark results").AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"Run {M("date")} on commit `{M("commit")}`, by `bench/run.sh` {M("args")}.").AppendLine();
        text.AppendLine("\"Reference\" is CNCF distribution (`docker-registry`) on the same machine in the same run, with the storage each set-up names.");
        text.AppendLine("Ours runs with Docker token authentication: every /v2 request carries a bearer JWT (ES256) that it verifies,");
        text.AppendLine("and that cost is in its figures; the reference runs without authentication.");
        text.AppendLine("Each figure is the median of the measured repetitions (a warm-up run is discarded).");
        text.AppendLine("Ratio = ours / reference. Each metric states whether higher or lower is better: for throughput (MB/s, req/s)");
        text.AppendLine("a ratio above 1 favours ours; for times, latencies and CPU a ratio below 1 favours ours. MB = 10^6 bytes.").AppendLine();

        // The default set-up's rows are labelled ours/reference; another set-up's SETUP/ours, SETUP/reference.
        var setups = values.Keys.Select(k => k.Label).Where(l => l.EndsWith("/" + Ours, StringComparison.Ordinal) || l.EndsWith("/" + Reference, StringComparison.Ordinal))
            .Select(l => l[..l.LastIndexOf('/')]).Distinct().ToList();
        setups.Insert(0, "");
        foreach (var setup in setups)
        {
            var prefix = setup.Length == 0 ? "" : setup + "/";
            var shown = metrics.Where(m => Median(prefix + Ours, m.Key) is not null || Median(prefix + Reference, m.Key) is not null).ToList();
            if (shown.Count == 0)
            {
                continue;
            }

            text.AppendLine(CultureInfo.InvariantCulture, $"## Set-up: {(setup.Length == 0 ? "fs" : setup)}").AppendLine();
            text.AppendLine(M("setup_" + (setup.Length == 0 ? "fs" : setup))).AppendLine();
            text.AppendLine("| metric | ours | reference | ratio | aim |");
            text.AppendLine("| --- | ---: | ---: | ---: | --- |");
            foreach (var metric in shown)
            {
                var ours = Median(prefix + Ours, metric.Key);
                var reference = Median(prefix + Reference, metric.Key);
                double? ratio = ours is { } o && reference is { } r && r > 0 ? o / r : null;
                var better = metric.HigherIsBetter ? "higher is better" : "lower is better";
                var aim = setup.Length == 0 ? metric.Aim?.Describe(ours, ratio, Median(Nginx, metric.Key)) ?? "" : "";
                text.AppendLine(CultureInfo.InvariantCulture,
                    $"| {metric.Title}, {better} | {Format(ours, metric.Format)} | {Format(reference, metric.Format)} | {Format(ratio, "0.00")}{(ratio is null ? "" : "x")} | {aim} |");
            }

            text.AppendLine();
        }

        text.AppendLine().AppendLine("## Machine").AppendLine();
        text.AppendLine("| item | value |");
        text.AppendLine("| --- | --- |");
        foreach (var (key, title) in new[]
        {
            ("cpu", "CPU model"), ("cores", "cores"), ("memory", "memory"), ("kernel", "kernel"),
            ("sha256_mbps", "SHA-256 throughput, `openssl dgst -sha256` of the blob file (MB/s)"),
            ("dd_fsync_mbps", "disk write, `dd bs=1M count=1024 conv=fsync` (MB/s)"),
            ("nginx_single", $"nginx GET of the same {blob} file, one stream (MB/s)"),
            ("nginx_concurrent", $"nginx GET, {M("concurrency")} concurrent streams (aggregate MB/s)"),
            ("dotnet", ".NET SDK"), ("reference_version", "reference registry"), ("nginx_version", "nginx"),
            ("docker_version", "Docker engine"), ("reps", "measured repetitions (uploads)"), ("get_reps", "measured repetitions (blob GETs)"), ("docker_reps", "docker push/pull repetitions"),
            ("wrk_seconds", "wrk duration per test (s)"), ("tmpdir", "data directories on"),
            ("loadavg_start", "load average at start (1, 5, 15 min)"), ("loadavg_end", "load average at end"),
        })
        {
            var value = key switch
            {
                "nginx_single" => Format(Median(Nginx, "get_single_mbps"), "0"),
                "nginx_concurrent" => Format(Median(Nginx, "get_concurrent_mbps"), "0"),
                _ => M(key),
            };
            text.AppendLine(CultureInfo.InvariantCulture, $"| {title} | {value} |");
        }

        text.AppendLine().AppendLine("## All repetitions").AppendLine();
        text.AppendLine("| set-up | metric | ours | reference | nginx |");
        text.AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var setup in setups)
        {
            var prefix = setup.Length == 0 ? "" : setup + "/";
            foreach (var metric in metrics)
            {
                string All(string label) => values.TryGetValue((label, metric.Key), out var list)
                    ? string.Join(", ", list.Select(v => v.ToString(metric.Format, CultureInfo.InvariantCulture)))
                    : "";
                var (ours, reference, nginx) = (All(prefix + Ours), All(prefix + Reference), setup.Length == 0 ? All(Nginx) : "");
                if (ours.Length + reference.Length + nginx.Length > 0)
                {
                    text.AppendLine(CultureInfo.InvariantCulture, $"| {(setup.Length == 0 ? "fs" : setup)} | {metric.Key} | {ours} | {reference} | {nginx} |");
                }
            }
        }

        // In the order the run recorded them, which is chronological.
        var extra = order.Where(k => k.Metric.StartsWith("info_", StringComparison.Ordinal)).ToList();
        if (extra.Count > 0)
        {
            text.AppendLine().AppendLine("## Counters").AppendLine();
            foreach (var key in extra)
            {
                var name = key.Metric["info_".Length..];
                var shown = string.Join(", ", values[key].Select(v => v.ToString("0.#", CultureInfo.InvariantCulture)));
                var line = name.StartsWith(OtherCpuPrefix, StringComparison.Ordinal)
                    ? $"- other processes' CPU use just before {name[OtherCpuPrefix.Length..]}: {shown}%"
                    : name.StartsWith(OtherCpuDuringPrefix, StringComparison.Ordinal)
                        ? $"- other processes' CPU use during each {key.Label} {name[OtherCpuDuringPrefix.Length..]} repetition: {shown}%"
                        : $"- {key.Label} {name.Replace('_', ' ')}: {shown}";
                text.AppendLine(line);
            }
        }

        if (notes.Count > 0)
        {
            text.AppendLine().AppendLine("## Problems during the run").AppendLine();
            foreach (var note in notes)
            {
                text.AppendLine(CultureInfo.InvariantCulture, $"- {note}");
            }
        }

        return text.ToString();
    }

    private static double MedianOf(List<double> list)
    {
        var sorted = list.Order().ToList();
        var middle = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
    }

    private static string Format(double? value, string format) =>
        value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "—";

    private static string SizeText(int mib) => mib % 1024 == 0 ? $"{mib / 1024} GiB" : $"{mib} MiB";

    private sealed record Metric(string Key, string Title, bool HigherIsBetter, string Format, Aim? Aim);

    /// <summary>A target either relative to the reference (ratio) or to nginx serving the same file.</summary>
    private sealed class Aim
    {
        private readonly double _target;
        private readonly bool _atLeast;
        private readonly bool _nginx;

        private Aim(double target, bool atLeast, bool nginx)
        {
            _target = target;
            _atLeast = atLeast;
            _nginx = nginx;
        }

        public static Aim Ratio(double target, bool atLeast) => new(target, atLeast, nginx: false);

        public static Aim OfNginx(double fraction) => new(fraction, atLeast: true, nginx: true);

        public string Describe(double? ours, double? ratio, double? nginx)
        {
            if (_nginx)
            {
                var goal = $"≥ {_target * 100:0}% of nginx";
                if (ours is not { } o || nginx is not { } n || n <= 0)
                {
                    return $"{goal}: not measured";
                }

                var share = o / n;
                return $"{goal} ({n:0} MB/s): {share * 100:0}%, {(share >= _target ? "met" : "not met")}";
            }

            var text = _atLeast ? $"≥ {_target:0.##}x reference" : $"≤ {_target:0.##}x reference";
            if (ratio is not { } r)
            {
                return $"{text}: not measured";
            }

            var met = _atLeast ? r >= _target : r <= _target;
            return $"{text}: {(met ? "met" : "not met")}";
        }
    }
}
