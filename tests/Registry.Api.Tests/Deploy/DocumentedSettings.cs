using System.Reflection;
using System.Text.RegularExpressions;
using Registry.Storage.Services;

namespace Registry.Api.Tests.Deploy;

/// <summary>
/// The settings README.md names, in both spellings (<c>Registry:Storage:S3:Bucket</c> in the Configuration table,
/// <c>Registry__Storage__S3__Bucket</c> as an environment variable), and whether the registry really reads each:
/// a property of an options class bound from a section (<c>public const string Section</c>), or a key the source
/// reads from the configuration by name.
/// </summary>
internal static partial class DocumentedSettings
{
    private static readonly Lazy<IReadOnlyList<(string Section, Type Type)>> OptionClasses = new(FindOptionClasses);

    /// <summary>Every <c>Registry:…</c> key a Markdown text names, in the colon spelling.</summary>
    public static IReadOnlySet<string> Named(string markdown)
    {
        var keys = new HashSet<string>(NamedAsEnvironmentVariables(markdown), StringComparer.OrdinalIgnoreCase);
        foreach (Match match in ColonName().Matches(markdown))
        {
            keys.Add(match.Groups["key"].Value);
        }

        // Table cells that list siblings: `Registry:Auth:LoginFailureLimit` / `LoginLockout` / `MaxLoginLockout`.
        foreach (Match row in SiblingCell().Matches(markdown))
        {
            var first = row.Groups["first"].Value;
            var parent = first[..first.LastIndexOf(':')];
            foreach (Capture sibling in row.Groups["sibling"].Captures)
            {
                keys.Add($"{parent}:{sibling.Value}");
            }
        }

        return keys;
    }

    /// <summary>The keys a Markdown text names as environment variables (<c>Registry__A__B</c>), in the colon spelling.</summary>
    public static IReadOnlySet<string> NamedAsEnvironmentVariables(string markdown) =>
        EnvironmentName().Matches(markdown).Select(m => m.Value.Replace("__", ":", StringComparison.Ordinal))
            .ToHashSet(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Null when the key is read by the registry; otherwise why not. As an environment variable, a list needs an index
    /// per entry (<c>Registry__Proxy__KnownNetworks__0</c>): the binder ignores a value given to the list itself.
    /// </summary>
    public static string? Problem(string key, bool asEnvironmentVariable = false)
    {
        foreach (var (section, type) in OptionClasses.Value.Where(o => key.StartsWith(o.Section + ":", StringComparison.OrdinalIgnoreCase)))
        {
            var target = Resolve(type, key[(section.Length + 1)..].Split(':'));
            if (target is null)
            {
                continue;
            }

            return asEnvironmentVariable && ElementType(target) is not null
                ? $"{key.Replace(":", "__", StringComparison.Ordinal)} is a list: as environment variables its entries are {key.Replace(":", "__", StringComparison.Ordinal)}__0, __1, …"
                : null;
        }

        if (ReadByName(key))
        {
            return null;
        }

        return $"{key}: no options class bound from a section of it has such a property, and no source file reads \"{key}\"";
    }

    /// <summary>The type a property path leads to (numeric segments index lists), or null when it leads nowhere.</summary>
    private static Type? Resolve(Type type, IReadOnlyList<string> path)
    {
        var current = type;
        foreach (var segment in path)
        {
            if (int.TryParse(segment, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out _))
            {
                current = ElementType(current);
            }
            else
            {
                current = current.GetProperty(segment, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase)?.PropertyType;
            }

            if (current is null)
            {
                return null;
            }
        }

        return current;
    }

    private static Type? ElementType(Type type) =>
        type == typeof(string)
            ? null
            : type.IsArray
                ? type.GetElementType()
                : type.GetInterfaces().Append(type)
                    .FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0];

    private static bool ReadByName(string key) =>
        Directory.EnumerateFiles(DeployFiles.PathOf("src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Any(f => File.ReadAllText(f).Contains($"\"{key}\"", StringComparison.Ordinal));

    private static List<(string Section, Type Type)> FindOptionClasses() =>
        new[] { typeof(Program).Assembly, typeof(RegistryStorageOptions).Assembly }
            .SelectMany(a => a.GetTypes())
            .Select(t => (Type: t, Field: t.GetField("Section", BindingFlags.Public | BindingFlags.Static)))
            .Where(x => x.Field is { IsLiteral: true } && x.Field.GetRawConstantValue() is string s && s.StartsWith("Registry", StringComparison.Ordinal))
            .Select(x => ((string)x.Field!.GetRawConstantValue()!, x.Type))
            .ToList();

    [GeneratedRegex(@"\bRegistry__[A-Za-z0-9]+(?:__[A-Za-z0-9]+)*")]
    private static partial Regex EnvironmentName();

    [GeneratedRegex(@"`(?<key>Registry(?::[A-Za-z0-9]+)+)")]
    private static partial Regex ColonName();

    [GeneratedRegex(@"^\| `(?<first>Registry(?::[A-Za-z0-9]+)+)`(?: / `(?<sibling>[A-Za-z0-9]+)`)+", RegexOptions.Multiline)]
    private static partial Regex SiblingCell();
}
