using System.Diagnostics.CodeAnalysis;

namespace Registry.Core;

/// <summary>
/// Repository name grammar of the distribution spec:
/// <c>[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*</c>,
/// at most <see cref="MaxLength"/> characters.
/// </summary>
public static class RepositoryName
{
    /// <summary>Names longer than this are refused (the reference registry's limit, host included).</summary>
    public const int MaxLength = 255;

    public static bool IsValid([NotNullWhen(true)] string? name) => Validate(name) is null;

    /// <summary>
    /// The namespace a repository belongs to: its first component (<c>acme</c> for <c>acme/team/api</c>); null for
    /// single-component names, which belong to the administrators.
    /// </summary>
    public static string? NamespaceOf(string name)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        return slash > 0 ? name[..slash] : null;
    }

    /// <summary>Returns null when valid, otherwise why not.</summary>
    public static string? Validate(string? name)
    {
        if (string.IsNullOrEmpty(name))
        {
            return "repository name is empty";
        }

        if (name.Length > MaxLength)
        {
            return $"repository name is longer than {MaxLength} characters";
        }

        foreach (var component in name.Split('/'))
        {
            if (!IsValidComponent(component))
            {
                return component.Length == 0
                    ? "repository name has an empty path component"
                    : $"repository name component '{component}' must match [a-z0-9]+((\\.|_|__|-+)[a-z0-9]+)*";
            }
        }

        return null;
    }

    private static bool IsValidComponent(string component)
    {
        if (component.Length == 0 || !IsAlnum(component[0]) || !IsAlnum(component[^1]))
        {
            return false;
        }

        var i = 0;
        while (i < component.Length)
        {
            if (IsAlnum(component[i]))
            {
                i++;
                continue;
            }

            // A separator run: exactly ".", "_", "__", or one or more "-".
            var start = i;
            var c = component[i];
            while (i < component.Length && component[i] == c)
            {
                i++;
            }

            var run = i - start;
            var ok = c switch
            {
                '.' => run == 1,
                '_' => run <= 2,
                '-' => true,
                _ => false,
            };
            if (!ok || i >= component.Length || !IsAlnum(component[i]))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsAlnum(char c) => c is (>= 'a' and <= 'z') or (>= '0' and <= '9');
}
