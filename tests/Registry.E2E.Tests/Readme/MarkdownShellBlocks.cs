using System.Text.RegularExpressions;

namespace Registry.E2E.Tests.Readme;

/// <summary>One fenced code block of a Markdown file.</summary>
/// <param name="Line">The 1-based line of its opening fence.</param>
/// <param name="Language">The fence's info string (<c>sh</c>, <c>console</c>, …), empty when none.</param>
/// <param name="Code">The lines between the fences.</param>
/// <param name="SkipReason">The reason given by a <c>&lt;!-- readme-test: skip: REASON --&gt;</c> line right before the
/// fence, or null when there is none.</param>
public sealed record MarkdownCodeBlock(int Line, string Language, string Code, string? SkipReason)
{
    private static readonly HashSet<string> ShellLanguages = new(StringComparer.Ordinal) { "sh", "bash", "shell" };

    /// <summary>A shell block that is not marked to be skipped: a reader runs it, and so does the test.</summary>
    public bool IsRunnable => ShellLanguages.Contains(Language) && SkipReason is null;

    public bool IsShell => ShellLanguages.Contains(Language);
}

/// <summary>
/// The fenced code blocks of a Markdown file, in order. A block is skipped by the line
/// <c>&lt;!-- readme-test: skip: REASON --&gt;</c> right before its fence (blank lines between are allowed); the
/// reason is for readers of the source and the test's report.
/// </summary>
public static partial class MarkdownShellBlocks
{
    public const string SkipMarker = "<!-- readme-test: skip";

    public static IReadOnlyList<MarkdownCodeBlock> Parse(string markdown)
    {
        var lines = markdown.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        var blocks = new List<MarkdownCodeBlock>();
        string? pendingSkip = null;
        for (var i = 0; i < lines.Length; i++)
        {
            var fence = Fence().Match(lines[i]);
            if (!fence.Success)
            {
                if (lines[i].TrimStart().StartsWith(SkipMarker, StringComparison.Ordinal))
                {
                    pendingSkip = SkipReason(lines[i], i + 1);
                }
                else if (lines[i].Trim().Length > 0)
                {
                    pendingSkip = null; // a marker applies only to the block right after it
                }

                continue;
            }

            var ticks = fence.Groups["ticks"].Value;
            var body = new List<string>();
            var end = i + 1;
            while (end < lines.Length && !lines[end].TrimStart().StartsWith(ticks, StringComparison.Ordinal))
            {
                body.Add(lines[end]);
                end++;
            }

            if (end == lines.Length)
            {
                throw new FormatException($"The code block opened on line {i + 1} is never closed.");
            }

            blocks.Add(new MarkdownCodeBlock(i + 1, fence.Groups["lang"].Value, string.Join('\n', body), pendingSkip));
            pendingSkip = null;
            i = end;
        }

        return blocks;
    }

    private static string SkipReason(string line, int number)
    {
        var match = SkipLine().Match(line.Trim());
        if (!match.Success || match.Groups["reason"].Value.Trim().Length == 0)
        {
            throw new FormatException(
                $"Line {number}: a skip marker must say why: <!-- readme-test: skip: REASON -->, got: {line.Trim()}");
        }

        return match.Groups["reason"].Value.Trim();
    }

    [GeneratedRegex(@"^\s{0,3}(?<ticks>```+)\s*(?<lang>[A-Za-z0-9_+-]*)\s*$")]
    private static partial Regex Fence();

    [GeneratedRegex(@"^<!-- readme-test: skip: (?<reason>.+?) -->$")]
    private static partial Regex SkipLine();
}
