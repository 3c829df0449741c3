using System.Globalization;

namespace Registry.Bench;

/// <summary>Parses "--name value" pairs; every option takes exactly one value.</summary>
internal sealed class Options
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public static Options Parse(ReadOnlySpan<string> args)
    {
        var options = new Options();
        for (var i = 0; i < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new BenchException($"expected '--name value', got '{args[i]}'");
            }

            options._values[args[i][2..]] = args[i + 1];
        }

        return options;
    }

    public string Get(string name) =>
        _values.TryGetValue(name, out var value) ? value : throw new BenchException($"missing --{name}");

    public string? GetOptional(string name) => _values.GetValueOrDefault(name);

    public int GetInt(string name, int fallback) =>
        _values.TryGetValue(name, out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : fallback;

    public long GetLong(string name) => long.Parse(Get(name), CultureInfo.InvariantCulture);

    public Uri GetUri(string name) => new(Get(name).TrimEnd('/') + "/", UriKind.Absolute);
}
