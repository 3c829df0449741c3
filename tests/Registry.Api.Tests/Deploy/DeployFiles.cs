using YamlDotNet.RepresentationModel;

namespace Registry.Api.Tests.Deploy;

/// <summary>The deployment files of the repository, and YAML read into plain maps, lists and strings.</summary>
internal static class DeployFiles
{
    public static string Root => Registry.Testing.RepositoryRoot.Path;

    public static string PathOf(string relative) => Path.Combine(Root, relative);

    public static string Read(string relative) => File.ReadAllText(PathOf(relative));

    /// <summary>Every document of a YAML file (a parse error throws, naming the line).</summary>
    public static IReadOnlyList<YamlMap> LoadDocuments(string relative)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(Read(relative)))
        {
            stream.Load(reader);
        }

        return stream.Documents.Select(d => new YamlMap((YamlMappingNode)d.RootNode, relative)).ToList();
    }

    public static YamlMap LoadSingle(string relative) => Assert.Single(LoadDocuments(relative));
}

/// <summary>A YAML mapping with lookups that fail with the path they could not follow.</summary>
internal sealed class YamlMap(YamlMappingNode node, string path)
{
    public string Path => path;

    public IEnumerable<string> Keys => node.Children.Keys.Select(k => ((YamlScalarNode)k).Value!);

    public bool Has(string key) => node.Children.ContainsKey(new YamlScalarNode(key));

    public YamlMap Map(string key) => new((YamlMappingNode)Get(key), $"{path}.{key}");

    public IReadOnlyList<YamlMap> Maps(string key) =>
        ((YamlSequenceNode)Get(key)).Children.Select((n, i) => new YamlMap((YamlMappingNode)n, $"{path}.{key}[{i}]")).ToList();

    public IReadOnlyList<string> Strings(string key) =>
        ((YamlSequenceNode)Get(key)).Children.Select(n => ((YamlScalarNode)n).Value!).ToList();

    public string String(string key) => ((YamlScalarNode)Get(key)).Value!;

    public string? StringOrNull(string key) => Has(key) ? String(key) : null;

    private YamlNode Get(string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value)
            ? value
            : throw new Xunit.Sdk.XunitException($"{path}: no key '{key}' (keys: {string.Join(", ", Keys)})");
}
