using System.Diagnostics.CodeAnalysis;
using Registry.Core;

namespace Registry.Node.Client;

/// <summary>
/// An image reference, <c>[HOST[:PORT]/]path/name[:tag][@digest]</c>, normalised as docker does:
/// the first component is a registry host only if it has a dot or a colon or is <c>localhost</c>
/// (and is lowercase); otherwise the image is on Docker Hub, with <c>library/</c> for one-component
/// names. Without a tag or a digest the tag is <c>latest</c>.
/// </summary>
public sealed record ImageReference
{
    public const string DefaultRegistry = "docker.io";
    public const string DefaultTag = "latest";

    private ImageReference(string registry, string repository, string? tag, Digest? digest)
    {
        Registry = registry;
        Repository = repository;
        Tag = tag;
        Digest = digest;
    }

    /// <summary><c>host[:port]</c>, as written (e.g. <c>127.0.0.1:5000</c>).</summary>
    public string Registry { get; }

    /// <summary>The repository path inside the registry, e.g. <c>team/app</c>.</summary>
    public string Repository { get; }

    /// <summary>The tag; null only when the reference names a digest and no tag.</summary>
    public string? Tag { get; }

    public Digest? Digest { get; }

    /// <summary>What goes into <c>/v2/NAME/manifests/REFERENCE</c>: the digest wins over the tag, as in docker.</summary>
    public string ManifestReference => Digest?.ToString() ?? Tag!;

    public ImageReference WithDigest(Digest digest) => new(Registry, Repository, Tag, digest);

    public override string ToString() =>
        $"{Registry}/{Repository}{(Tag is null ? "" : ":" + Tag)}{(Digest is null ? "" : "@" + Digest)}";

    public static ImageReference Parse(string value) =>
        TryParse(value, out var reference, out var error) ? reference : throw new FormatException(error);

    public static bool TryParse(string? value, [NotNullWhen(true)] out ImageReference? reference, [NotNullWhen(false)] out string? error)
    {
        reference = null;
        if (string.IsNullOrWhiteSpace(value))
        {
            error = "image reference is empty";
            return false;
        }

        var rest = value;
        Digest? digest = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            if (!Core.Digest.TryParse(rest[(at + 1)..], out digest, out var digestError))
            {
                error = $"invalid reference '{value}': {digestError}";
                return false;
            }

            if (!digest.IsSupported)
            {
                error = $"invalid reference '{value}': unsupported digest algorithm '{digest.Algorithm}'";
                return false;
            }

            rest = rest[..at];
        }

        // A tag is after the last colon that comes after the last slash (a colon before it is a port).
        string? tag = null;
        var colon = rest.LastIndexOf(':');
        if (colon > rest.LastIndexOf('/'))
        {
            tag = rest[(colon + 1)..];
            rest = rest[..colon];
            if (!TagName.IsValid(tag))
            {
                error = $"invalid reference '{value}': tag '{tag}' must match [a-zA-Z0-9_][a-zA-Z0-9._-]{{0,127}}";
                return false;
            }
        }

        var registry = DefaultRegistry;
        var path = rest;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && LooksLikeHost(rest[..slash]))
        {
            registry = rest[..slash];
            path = rest[(slash + 1)..];
            if (!IsValidHost(registry))
            {
                error = $"invalid reference '{value}': '{registry}' is not a valid registry host";
                return false;
            }
        }

        if (registry == DefaultRegistry && !path.Contains('/', StringComparison.Ordinal))
        {
            path = "library/" + path;
        }

        if (path.Any(char.IsAsciiLetterUpper))
        {
            error = $"invalid reference '{value}': repository name must be lowercase";
            return false;
        }

        if (RepositoryName.Validate(path) is { } nameError)
        {
            error = $"invalid reference '{value}': {nameError}";
            return false;
        }

        if (registry.Length + 1 + path.Length > RepositoryName.MaxLength)
        {
            error = $"invalid reference '{value}': the name is longer than {RepositoryName.MaxLength} characters";
            return false;
        }

        reference = new ImageReference(registry, path, tag ?? (digest is null ? DefaultTag : null), digest);
        error = null;
        return true;
    }

    /// <summary>Docker's rule: a dot, a colon or "localhost", and no uppercase letter.</summary>
    private static bool LooksLikeHost(string component) =>
        (component.Contains('.', StringComparison.Ordinal) || component.Contains(':', StringComparison.Ordinal) || component == "localhost")
        && !component.Any(char.IsAsciiLetterUpper);

    private static bool IsValidHost(string host)
    {
        string name;
        string? port = null;
        if (host.StartsWith('['))
        {
            var close = host.IndexOf(']', StringComparison.Ordinal);
            if (close < 0 || !System.Net.IPAddress.TryParse(host[1..close], out _))
            {
                return false;
            }

            var after = host[(close + 1)..];
            if (after.Length > 0 && (after[0] != ':' || after.Length == 1))
            {
                return false;
            }

            return after.Length == 0 || IsPort(after[1..]);
        }

        var colon = host.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            name = host[..colon];
            port = host[(colon + 1)..];
        }
        else
        {
            name = host;
        }

        if (port is not null && !IsPort(port))
        {
            return false;
        }

        return name.Length > 0 && name.Split('.').All(label =>
            label.Length > 0 && char.IsAsciiLetterOrDigit(label[0]) && char.IsAsciiLetterOrDigit(label[^1])
            && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'));
    }

    private static bool IsPort(string port) =>
        port.Length is > 0 and <= 5 && port.All(char.IsAsciiDigit) && int.Parse(port, System.Globalization.CultureInfo.InvariantCulture) is > 0 and <= 65535;
}
