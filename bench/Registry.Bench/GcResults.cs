using System.Globalization;
using System.Text;

namespace Registry.Bench;

/// <summary>
/// <c>gc-report</c>: turns the rows of a bench/gc.sh run into its Markdown report: collection time and CPU with
/// ours/reference ratios, the on-disk checks that the collected blobs are gone, and the push rate with and without a
/// collection run going on.
/// </summary>
internal static class GcResults
{
    private const string Ours = "ours";
    private const string Reference = "reference";

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
            .ToDictionary(g => g.Key, g => double.Parse(g.Last()[2], CultureInfo.InvariantCulture));
        var notes = rows.Where(r => r[1] == "note").Select(r => $"{r[0]}: {r[2]}").ToList();
        var counters = rows.Where(r => r[1].StartsWith("info_", StringComparison.Ordinal)).Select(r => (r[0], r[1])).Distinct().ToList();

        var markdown = new Renderer(meta, values).Render(counters, notes);
        File.WriteAllText(options.Get("out"), markdown);
        Console.WriteLine(markdown);
        return 0;
    }

    private sealed class Renderer(Dictionary<string, string> meta, Dictionary<(string Label, string Metric), double> values)
    {
        private readonly StringBuilder _text = new();

        public string Render(List<(string Label, string Metric)> counters, List<string> notes)
        {
            var small = $"{Count("small_count")} unreferenced {M("small_bytes")}-byte blobs in {M("small_repos")} repositories";
            var large = $"{M("large_count")} unreferenced blobs of {M("large_mib")} MiB";
            Line("# Garbage-collection benchmark results").Line();
            Line($"Run {M("date")} on commit `{M("commit")}`, by `bench/gc.sh` {M("args")}.").Line();
            Line("\"Reference\" is CNCF distribution (`docker-registry garbage-collect`) on the same machine in the same run. It collects");
            Line("offline: the script stops its server, runs the command, and times that process. Ours collects online: one");
            Line("`POST /api/v1/admin/gc` to the running server (ReviewDelay 0, UploadGrace 0, background worker off), timed by the");
            Line("client, with the server process's CPU time over the request. The blobs were pushed (POST + PUT) and no manifest");
            Line("references them. Each figure is one run. Ratio = ours / reference; for times a ratio below 1 favours ours.").Line();

            Line("| measurement | ours | reference | ratio |").Line("| --- | ---: | ---: | ---: |");
            Row($"Collect {small}: wall time (s), lower is better", "small_gc_s", "0.00");
            Row("— CPU time of the collecting process (s), lower is better", "small_gc_cpu_s", "0.00");
            Derived("— blobs collected per second, higher is better", "small_gc_s", s => Num("small_count") / s, "0");
            Row($"Collect {large}: wall time (s), lower is better", "large_gc_s", "0.00");
            Row("— CPU time of the collecting process (s), lower is better", "large_gc_cpu_s", "0.00");
            Row($"Push small images, {M("image_clients")} clients, no collection running (images/s), higher is better", "alone_images_per_s", "0");
            var during = Value(Ours, "during_images_per_s");
            Line($"| Push small images, {M("image_clients")} clients, while a collection run of {Count("backlog_count")} blobs goes on (images/s), higher is better | {Format(during, "0")} | not possible: the reference collects offline, its server stopped | — |");
            var alone = Value(Ours, "alone_images_per_s");
            Line($"| — ours: push rate during collection / without | {Format(during is { } d && alone is { } a && a > 0 ? d / a : null, "0.00")}x | | |");
            Row("— time to push one image (5 requests), median without collection (ms), lower is better", "alone_p50_ms", "0.0");
            Row("— 99th percentile without collection (ms), lower is better", "alone_p99_ms", "0.0");
            Line($"| — ours: median, 99th percentile and longest push during collection (ms) | {Format(Value(Ours, "during_p50_ms"), "0.0")}, {Format(Value(Ours, "during_p99_ms"), "0.0")}, {Format(Value(Ours, "during_max_ms"), "0")} | | |");
            Line($"| — ours: that collection run's wall time with the pushes going on (s) | {Format(Value(Ours, "during_gc_s"), "0.00")} | | |");
            Line();

            Line("## Checks").Line();
            Line("Blob files counted on disk under each registry's blob store before and after the run (ours: `blobs/`; the");
            Line("reference: `docker/registry/v2/blobs/`, one `data` file per blob), and what each run said it collected.").Line();
            Line("| check | ours | reference |").Line("| --- | --- | --- |");
            Check($"{small}", "small", Num("small_count"));
            Check($"{large}", "large", Num("large_count"));
            Check($"backlog of {Count("backlog_count")} blobs collected while pushes went on", "during", Num("backlog_count"));
            var checkedImages = Value(Ours, "info_images_checked");
            var broken = Value(Ours, "images_broken");
            Line($"| images pushed before and during that run, still whole afterwards (manifest by tag, HEAD of both blobs) | {(checkedImages is null ? "—" : $"{Format(checkedImages - (broken ?? 0), "0")} of {Format(checkedImages, "0")}")} | |");
            Line();

            Line("## Machine").Line();
            Line("| item | value |").Line("| --- | --- |");
            foreach (var (key, title) in new[]
            {
                ("cpu", "CPU model"), ("cores", "cores"), ("memory", "memory"), ("kernel", "kernel"), ("dotnet", ".NET SDK"),
                ("reference_version", "reference registry"), ("tmpdir", "data directories on"), ("backlog_grace", "ours' UploadGrace in the push-during-collection phase"),
                ("loadavg_start", "load average at start (1, 5, 15 min)"), ("loadavg_end", "load average at end"),
            })
            {
                Line($"| {title} | {M(key)} |");
            }

            if (counters.Count > 0)
            {
                Line().Line("## Counters").Line();
                foreach (var (label, metric) in counters)
                {
                    var name = metric["info_".Length..];
                    var value = values[(label, metric)].ToString("0.##", CultureInfo.InvariantCulture);
                    Line(name.StartsWith("other_cpu_percent_before_", StringComparison.Ordinal)
                        ? $"- other processes' CPU use just before {name["other_cpu_percent_before_".Length..]}: {value}%"
                        : $"- {label} {name.Replace('_', ' ')}: {value}");
                }
            }

            if (notes.Count > 0)
            {
                Line().Line("## Problems during the run").Line();
                foreach (var note in notes)
                {
                    Line($"- {note}");
                }
            }

            return _text.ToString();
        }

        private void Row(string title, string metric, string format)
        {
            var ours = Value(Ours, metric);
            var reference = Value(Reference, metric);
            Line($"| {title} | {Format(ours, format)} | {Format(reference, format)} | {Ratio(ours, reference)} |");
        }

        private void Derived(string title, string metric, Func<double, double> derive, string format)
        {
            double? Of(string label) => Value(label, metric) is { } v && v > 0 ? derive(v) : null;
            var ours = Of(Ours);
            var reference = Of(Reference);
            Line($"| {title} | {Format(ours, format)} | {Format(reference, format)} | {Ratio(ours, reference)} |");
        }

        /// <summary>Files before → after, whether all that should go are gone, and the count the collector itself reported.</summary>
        private void Check(string title, string prefix, double expected)
        {
            string Cell(string label)
            {
                if (Value(label, $"{prefix}_files_before") is not { } before || Value(label, $"{prefix}_files_after") is not { } after)
                {
                    return "—";
                }

                // Files that must stay (the images pushed meanwhile) are not counted as left over.
                var left = after - (Value(label, $"{prefix}_files_kept") ?? 0);
                var verdict = left == 0 ? "all collected blobs gone" : left > 0 ? $"**{left:0} left**" : $"**{-left:0} too many gone**";
                var reported = Value(label, $"info_{prefix}_gc_blobs") is { } r ? $"; run reported {r:0} blobs" : "";
                var mismatch = Value(label, $"info_{prefix}_gc_blobs") is { } n && expected > 0 && n != expected ? $" (**{expected:0} expected**)" : "";
                return $"{before:0} → {after:0}, {verdict}{reported}{mismatch}";
            }

            Line($"| {title} | {Cell(Ours)} | {Cell(Reference)} |");
        }

        private double? Value(string label, string metric) => values.TryGetValue((label, metric), out var v) ? v : null;

        private string M(string key) => meta.GetValueOrDefault(key, "?");

        private double Num(string key) => double.TryParse(M(key), CultureInfo.InvariantCulture, out var v) ? v : 0;

        private string Count(string key) => Num(key).ToString("#,0", CultureInfo.InvariantCulture);

        private static string Ratio(double? ours, double? reference) =>
            ours is { } o && reference is { } r && r > 0 ? $"{o / r:0.00}x" : "—";

        private static string Format(double? value, string format) =>
            value is { } v ? v.ToString(format, CultureInfo.InvariantCulture) : "—";

        private Renderer Line(string text = "")
        {
            _text.AppendLine(text);
            return this;
        }
    }
}
