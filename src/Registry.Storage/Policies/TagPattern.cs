using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.RegularExpressions;

namespace Registry.Storage.Policies;

/// <summary>
/// A glob over tag names: <c>*</c> matches any run of characters (also none), <c>?</c> exactly one, <c>[abc]</c>
/// one of the listed characters, <c>[a-z]</c> one of a range, <c>[!abc]</c> one not listed. Every other character
/// matches itself, case-sensitively, and must be one a tag may hold (<c>A-Z a-z 0-9 _ . -</c>). The whole tag
/// must match: <c>v*</c> matches <c>v1.0</c> but not <c>latest-v1</c>.
/// </summary>
public sealed class TagPattern
{
    public const int MaxLength = 128;

    private readonly Regex _regex;

    private TagPattern(string text, Regex regex)
    {
        Text = text;
        _regex = regex;
    }

    public string Text { get; }

    public bool Matches(string tag) => _regex.IsMatch(tag);

    public static TagPattern Parse(string text) =>
        TryParse(text, out var pattern, out var error) ? pattern : throw new FormatException(error);

    /// <param name="error">Why the pattern is refused, in words for the user.</param>
    public static bool TryParse(string? text, [NotNullWhen(true)] out TagPattern? pattern, [NotNullWhen(false)] out string? error)
    {
        pattern = null;
        error = Translate(text, out var regex);
        if (error is not null)
        {
            return false;
        }

        // The translation only emits literals, '.', ".*" and classes, and the engine never backtracks, so a
        // hostile pattern costs linear time.
        pattern = new TagPattern(text!, new Regex(regex, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking));
        return true;
    }

    private static string? Translate(string? text, out string regex)
    {
        regex = string.Empty;
        if (string.IsNullOrEmpty(text))
        {
            return "pattern is empty";
        }

        if (text.Length > MaxLength)
        {
            return $"pattern is longer than {MaxLength} characters";
        }

        var builder = new StringBuilder("^");
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '*':
                    builder.Append(".*");
                    break;
                case '?':
                    builder.Append('.');
                    break;
                case '[':
                    var end = text.IndexOf(']', i + 1);
                    if (end < 0)
                    {
                        return $"pattern '{text}' has a '[' without its ']'";
                    }

                    if (ClassError(text[(i + 1)..end], builder) is { } classError)
                    {
                        return $"pattern '{text}': {classError}";
                    }

                    i = end;
                    break;
                case ']':
                    return $"pattern '{text}' has a ']' without its '['";
                default:
                    if (!IsTagCharacter(c))
                    {
                        return $"pattern '{text}' holds '{c}', which no tag can hold (tags use A-Z a-z 0-9 _ . -; patterns add * ? [ ])";
                    }

                    builder.Append(Regex.Escape(c.ToString()));
                    break;
            }
        }

        regex = builder.Append('$').ToString();
        return null;
    }

    /// <summary>Appends the class <c>[…]</c> with the body given, or says what is wrong with it.</summary>
    private static string? ClassError(string body, StringBuilder builder)
    {
        var negated = body.StartsWith('!');
        if (negated)
        {
            body = body[1..];
        }

        if (body.Length == 0)
        {
            return "a character class [] lists no characters";
        }

        builder.Append(negated ? "[^" : "[");
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            if (!IsTagCharacter(c))
            {
                return $"a character class holds '{c}', which no tag can hold";
            }

            if (i + 2 < body.Length && body[i + 1] == '-')
            {
                var last = body[i + 2];
                if (!IsTagCharacter(last))
                {
                    return $"a character class holds '{last}', which no tag can hold";
                }

                if (last < c)
                {
                    return $"the range {c}-{last} is backwards";
                }

                builder.Append(Escape(c)).Append('-').Append(Escape(last));
                i += 2;
            }
            else
            {
                builder.Append(Escape(c));
            }
        }

        builder.Append(']');
        return null;
    }

    private static string Escape(char c) => c == '-' ? "\\-" : c.ToString();

    private static bool IsTagCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-';
}
