using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;

namespace Registry.Api.Tests.Observability;

/// <summary>One read of <c>/metrics</c>, parsed from Prometheus' text format into samples by name and labels.</summary>
internal sealed partial class MetricsScrape
{
    private readonly Dictionary<string, double> _samples;

    private MetricsScrape(string text, Dictionary<string, double> samples)
    {
        Text = text;
        _samples = samples;
    }

    public string Text { get; }

    public static async Task<MetricsScrape> ReadAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"/metrics answered {(int)response.StatusCode}: {text}");
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (Sample().Match(line) is { Success: true } match)
            {
                var labels = Label().Matches(match.Groups["labels"].Value)
                    .Select(l => (Name: l.Groups["name"].Value, Value: l.Groups["value"].Value))
                    .ToArray();
                samples[Key(match.Groups["name"].Value, labels)] = double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            }
        }

        return new MetricsScrape(text, samples);
    }

    /// <summary>The sample's value, 0 when there is none (a counter that never moved has no labelled sample yet).</summary>
    public double Value(string name, params (string Name, string Value)[] labels) =>
        _samples.TryGetValue(Key(name, labels), out var value) ? value : 0;

    public bool Has(string name) => _samples.Keys.Any(k => k == name || k.StartsWith(name + "{", StringComparison.Ordinal));

    private static string Key(string name, IEnumerable<(string Name, string Value)> labels) =>
        name + "{" + string.Join(",", labels.OrderBy(l => l.Name, StringComparer.Ordinal).Select(l => $"{l.Name}={l.Value}")) + "}";

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>[^ ]+)$""")]
    private static partial Regex Sample();

    [GeneratedRegex("(?<name>[a-zA-Z_][a-zA-Z0-9_]*)=\"(?<value>(?:[^\"\\\\]|\\\\.)*)\"")]
    private static partial Regex Label();
}
