using System.Text;
using System.Text.RegularExpressions;

namespace Registry.Storage.Retention;

/// <summary>
/// A shell-style pattern over tag names: <c>*</c> any run of characters, <c>?</c> one character, <c>[...]</c> one of
/// a set (<c>[0-9]</c>, <c>[!a-z]</c> or <c>[^a-z]</c> for "none of"). Everything else matches itself. Tags only hold
/// <c>[A-Za-z0-9._-]</c>, so any other character in a pattern is refused: it could never match.
/// </summary>
public sealed class TagGlob
{
    private readonly Regex _regex;

    private TagGlob(string pattern, Regex regex)
    {
        Pattern = pattern;
        _regex = regex;
    }

    public string Pattern { get; }

    public bool IsMatch(string tag) => _regex.IsMatch(tag);

    /// <summary>The compiled pattern, or null with the reason it is not one.</summary>
    public static TagGlob? TryParse(string pattern, out string? error)
    {
        error = null;
        var regex = new StringBuilder("^");
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            switch (c)
            {
                case '*':
                    regex.Append(".*");
                    break;
                case '?':
                    regex.Append('.');
                    break;
                case '[':
                    var end = pattern.IndexOf(']', i + 2 < pattern.Length && pattern[i + 1] is '!' or '^' ? i + 2 : i + 1);
                    if (end < 0)
                    {
                        error = $"'[' at position {i + 1} is not closed by ']'";
                        return null;
                    }

                    var set = pattern[(i + 1)..end];
                    var negated = set.Length > 0 && set[0] is '!' or '^';
                    if (negated)
                    {
                        set = set[1..];
                    }

                    if (set.Length == 0 || !set.All(IsTagCharacter))
                    {
                        error = $"the set at position {i + 1} is empty or holds characters no tag has";
                        return null;
                    }

                    if (!ValidRanges(set))
                    {
                        error = $"the set at position {i + 1} has a range whose start is after its end";
                        return null;
                    }

                    regex.Append('[').Append(negated ? "^" : string.Empty).Append(EscapeSet(set)).Append(']');
                    i = end;
                    break;
                case ']':
                    error = $"']' at position {i + 1} closes no '['";
                    return null;
                default:
                    if (!IsTagCharacter(c))
                    {
                        error = $"'{c}' cannot occur in a tag";
                        return null;
                    }

                    regex.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        regex.Append('$');
        return new TagGlob(pattern, new Regex(regex.ToString(), RegexOptions.CultureInvariant | RegexOptions.NonBacktracking));
    }

    private static bool IsTagCharacter(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-';

    /// <summary>In a set, "a-z" is a range; a '-' first or last is itself.</summary>
    private static bool ValidRanges(string set)
    {
        for (var i = 1; i < set.Length - 1; i++)
        {
            if (set[i] == '-' && set[i - 1] > set[i + 1])
            {
                return false;
            }
        }

        return true;
    }

    private static string EscapeSet(string set)
    {
        var escaped = new StringBuilder(set.Length + 4);
        for (var i = 0; i < set.Length; i++)
        {
            var c = set[i];
            var isRange = c == '-' && i > 0 && i < set.Length - 1;
            escaped.Append(c == '-' && !isRange ? "\\-" : c.ToString());
        }

        return escaped.ToString();
    }
}
