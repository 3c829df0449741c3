using System.Globalization;
using System.Text;
using Registry.Node.Client;
using Registry.Node.Content;

namespace Registry.Node.Cli;

/// <summary>The <c>images</c> table, in docker's plain column layout (pipes and scripts read it).</summary>
internal static class ImageTable
{
    private static readonly string[] Header = ["REPOSITORY", "TAG", "IMAGE ID", "PLATFORM", "SIZE", "PULLED"];

    public static string Format(IEnumerable<ImageRecord> images, DateTimeOffset now)
    {
        var rows = new List<string[]> { Header };
        foreach (var image in images)
        {
            var reference = ImageReference.Parse(image.Reference);
            rows.Add(
            [
                $"{reference.Registry}/{reference.Repository}",
                reference.Tag ?? "<none>",
                image.ConfigDigest.Encoded[..Math.Min(12, image.ConfigDigest.Encoded.Length)],
                image.Platform,
                PlainLinesProgress.Size(image.Size),
                Ago(now - image.PulledAt),
            ]);
        }

        var widths = Enumerable.Range(0, Header.Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in rows)
        {
            text.AppendLine(string.Join("   ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
        }

        return text.ToString();
    }

    /// <summary>Docker's "N units ago".</summary>
    internal static string Ago(TimeSpan age) => age switch
    {
        { TotalSeconds: < 60 } => Plural((int)Math.Max(age.TotalSeconds, 0), "second"),
        { TotalMinutes: < 60 } => Plural((int)age.TotalMinutes, "minute"),
        { TotalHours: < 48 } => Plural((int)age.TotalHours, "hour"),
        _ => Plural((int)age.TotalDays, "day"),
    };

    private static string Plural(int count, string unit) =>
        string.Create(CultureInfo.InvariantCulture, $"{count} {unit}{(count == 1 ? "" : "s")} ago");
}
