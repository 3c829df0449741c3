using System.Collections.Frozen;
using System.Security.Cryptography;

namespace Registry.Api.Ui;

/// <summary>The UI's stylesheet and script, embedded in the assembly and served with a content-hash ETag.</summary>
public static class UiAssets
{
    private sealed record Asset(byte[] Content, string ContentType, string ETag);

    private static readonly FrozenDictionary<string, Asset> Assets = Load();

    /// <summary>A version for URLs, so that a new release's files are fetched at once.</summary>
    public static string Version { get; } = Convert.ToHexStringLower(SHA256.HashData(Assets.Values.SelectMany(a => a.Content).ToArray()))[..12];

    public static IResult Serve(string file) =>
        Assets.TryGetValue(file, out var asset)
            ? Results.Bytes(asset.Content, asset.ContentType, entityTag: new Microsoft.Net.Http.Headers.EntityTagHeaderValue(asset.ETag))
            : Results.NotFound();

    private static FrozenDictionary<string, Asset> Load()
    {
        var assembly = typeof(UiAssets).Assembly;
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("ui/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var content = buffer.ToArray();
            var file = name["ui/".Length..];
            var type = file.EndsWith(".css", StringComparison.Ordinal) ? "text/css; charset=utf-8" : "text/javascript; charset=utf-8";
            assets[file] = new Asset(content, type, $"\"{Convert.ToHexStringLower(SHA256.HashData(content))[..16]}\"");
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
