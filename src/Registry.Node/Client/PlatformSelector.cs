using Registry.Core.Manifests;

namespace Registry.Node.Client;

/// <summary>
/// Parses <c>os/arch[/variant]</c> and picks an index entry for it, with the aliases docker and
/// containerd accept (x86_64 = amd64, aarch64 = arm64, arm64's default variant v8, arm's v7).
/// </summary>
public static class PlatformSelector
{
    public static readonly Platform Default = new("linux", "amd64");

    public static Platform Parse(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var parts = value.Split('/');
        if (parts.Length is < 2 or > 3 || parts.Any(p => p.Length == 0))
        {
            throw new FormatException($"platform '{value}' is not of the form os/arch[/variant]");
        }

        return Normalize(new Platform(parts[0].ToLowerInvariant(), parts[1].ToLowerInvariant(), parts.Length == 3 ? parts[2].ToLowerInvariant() : null));
    }

    public static Platform Normalize(Platform platform)
    {
        ArgumentNullException.ThrowIfNull(platform);
        var architecture = platform.Architecture switch
        {
            "x86_64" or "x86-64" => "amd64",
            "aarch64" => "arm64",
            "i386" or "i686" => "386",
            var other => other,
        };
        var variant = (architecture, platform.Variant) switch
        {
            ("arm64", "v8" or "8") => null,
            ("arm", null) => "v7",
            ("arm", "7" or "6" or "5") => "v" + platform.Variant,
            (_, var v) => v,
        };
        return new Platform(platform.Os, architecture, variant);
    }

    public static bool Matches(Platform wanted, Platform candidate)
    {
        var w = Normalize(wanted);
        var c = Normalize(candidate);
        return w.Os == c.Os && w.Architecture == c.Architecture && (w.Variant is null || w.Variant == c.Variant);
    }

    /// <summary>The first entry of the index for <paramref name="wanted"/>, or null.</summary>
    public static Descriptor? Select(IEnumerable<Descriptor> manifests, Platform wanted) =>
        manifests.FirstOrDefault(d => d.Platform is not null && MediaTypesAllowChild(d.MediaType) && Matches(wanted, d.Platform));

    /// <summary>The platforms an index offers, without attestation entries (os "unknown").</summary>
    public static IReadOnlyList<Platform> Available(IEnumerable<Descriptor> manifests) =>
        [.. manifests.Select(d => d.Platform).OfType<Platform>().Where(p => p.Os != "unknown").Distinct()];

    private static bool MediaTypesAllowChild(string mediaType) => Core.MediaTypes.IsImageManifest(mediaType);
}
