using System.Diagnostics.CodeAnalysis;

namespace Registry.Core;

/// <summary>Tag grammar: <c>[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}</c>.</summary>
public static class TagName
{
    public const int MaxLength = 128;

    public static bool IsValid([NotNullWhen(true)] string? tag)
    {
        if (string.IsNullOrEmpty(tag) || tag.Length > MaxLength)
        {
            return false;
        }

        if (!(IsAlnum(tag[0]) || tag[0] == '_'))
        {
            return false;
        }

        for (var i = 1; i < tag.Length; i++)
        {
            var c = tag[i];
            if (!(IsAlnum(c) || c is '_' or '.' or '-'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsAlnum(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9');
}
