using System.Globalization;

namespace Registry.Bench;

/// <summary>
/// Appends "label TAB metric TAB value" rows to the run's results file; one row per repetition,
/// so the report can show medians and spread. Rows whose metric is "note" carry free text.
/// </summary>
internal sealed class ResultSink(string path, string label)
{
    public void Add(string metric, double value)
    {
        var text = value.ToString("0.####", CultureInfo.InvariantCulture);
        File.AppendAllText(path, $"{label}\t{metric}\t{text}\n");
        Console.WriteLine($"  {label} {metric} = {text}");
    }

    public void Note(string text)
    {
        var oneLine = text.ReplaceLineEndings(" ").Replace('\t', ' ');
        File.AppendAllText(path, $"{label}\tnote\t{oneLine}\n");
        Console.Error.WriteLine($"  {label} note: {oneLine}");
    }
}
