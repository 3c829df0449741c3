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
    /// <summary>
    /// Documented ahead of the code that reads them, which is being added on another branch: accepted while no options
    /// class binds them yet. Remove an entry once the setting exists here.
    /// </summary>
    public static readonly IReadOnlySet<string> Pending = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "Registry:PublicUrl" };

    private static readonly Lazy<IReadOnlyList<(string Section, Type Type)>> OptionClasses = new(FindOptionClasses);

    /// <summary>Every <c>Registry:…</c> key a Markdown text names, in the colon spelling.</summary>
    public static IReadOnlySet<string> Named(string markdown)
    {
        var keys = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (Match match in EnvironmentName().Matches(markdown))
        {
            keys.Add(match.Value.Replace("__", ":", StringComparison.Ordinal));
        }

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

    /// <summary>Null when the key is read by the registry; otherwise why not.</summary>
    public static string? Problem(string key)
    {
        if (OptionClasses.Value.Any(o => key.StartsWith(o.Section + ":", StringComparison.OrdinalIgnoreCase)
                && HasPropertyPath(o.Type, key[(o.Section.Length + 1)..].Split(':'))))
        {
            return null;
        }

        if (ReadByName(key))
        {
            return null;
        }

        return Pending.Contains(key)
            ? null
            : $"{key}: no options class bound from a section of it has such a property, and no source file reads \"{key}\"";
    }

    private static bool HasPropertyPath(Type type, IReadOnlyList<string> path)
    {
        var current = type;
        foreach (var segment in path)
        {
            var property = current.GetProperty(segment, BindingFlags.Public | BindingFlags.Instance | BindingFlags.IgnoreCase);
            if (property is null || (property.SetMethod is not { IsPublic: true } && path[^1] == segment))
            {
                return false;
            }

            current = property.PropertyType;
        }

        return true;
    }

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
