using System.Security.Cryptography;

namespace Registry.Testing.Images;

/// <summary>Content with its digest: a layer, a config or a manifest. Test blobs are small, so they stay in memory.</summary>
public sealed class Blob
{
    public Blob(string mediaType, byte[] content)
    {
        MediaType = mediaType;
        Content = content;
        Digest = ComputeDigest(content);
    }

    public string MediaType { get; }

    public byte[] Content { get; }

    /// <summary><c>sha256:HEX</c>.</summary>
    public string Digest { get; }

    public string Hex => Digest["sha256:".Length..];

    public long Size => Content.LongLength;

    public static string ComputeDigest(ReadOnlySpan<byte> content)
        => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    internal Descriptor ToDescriptor(string? mediaType = null) => new(mediaType ?? MediaType, Digest, Size);
}

/// <summary>An OCI content descriptor.</summary>
internal sealed record Descriptor(string MediaType, string Digest, long Size);
