using System.Diagnostics.CodeAnalysis;

namespace Registry.Core;

/// <summary>The reference part of a manifest URL: a tag or a digest, never both.</summary>
public sealed record ManifestReference
{
    private ManifestReference(string? tag, Digest? digest)
    {
        Tag = tag;
        Digest = digest;
    }

    public string? Tag { get; }

    public Digest? Digest { get; }

    public static ManifestReference ForTag(string tag) => new(tag, null);

    public static ManifestReference ForDigest(Digest digest) => new(null, digest);

    public override string ToString() => Tag ?? Digest!.ToString();

    /// <summary>A value with a colon is a digest, anything else must be a valid tag.</summary>
    public static bool TryParse(string value, [NotNullWhen(true)] out ManifestReference? reference, [NotNullWhen(false)] out ErrorCode? error, out string? detail)
    {
        reference = null;
        if (value.Contains(':', StringComparison.Ordinal))
        {
            if (!Core.Digest.TryParse(value, out var digest, out detail))
            {
                error = ErrorCode.DigestInvalid;
                return false;
            }

            if (!digest.IsSupported)
            {
                error = ErrorCode.DigestInvalid;
                detail = $"unsupported digest algorithm '{digest.Algorithm}'";
                return false;
            }

            reference = ForDigest(digest);
        }
        else
        {
            if (!TagName.IsValid(value))
            {
                error = ErrorCode.TagInvalid;
                detail = "a tag must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}";
                return false;
            }

            reference = ForTag(value);
        }

        error = null;
        detail = null;
        return true;
    }
}
