using Registry.Core;
using Registry.Core.Manifests;

namespace Registry.Node.Client;

/// <summary>A manifest or index exactly as the registry served it, with the digest we computed over those bytes.</summary>
public sealed record FetchedManifest(Digest Digest, string MediaType, ReadOnlyMemory<byte> Bytes, ParsedManifest Parsed)
{
    public Descriptor ToDescriptor() => new(MediaType, Digest, Bytes.Length);
}

/// <summary>
/// An image reference resolved to one platform's manifest and config, all verified: the index
/// (when the reference named one), the image manifest, and the config blob.
/// </summary>
public sealed record ResolvedImage(
    ImageReference Reference,
    FetchedManifest? Index,
    FetchedManifest Manifest,
    ReadOnlyMemory<byte> ConfigBytes,
    ImageConfig Config,
    Platform Platform)
{
    public Descriptor ConfigDescriptor => Manifest.Parsed.Config!;

    public IReadOnlyList<Descriptor> Layers => Manifest.Parsed.Layers;

    /// <summary>The digest the reference resolves to: the index's if there is one, else the manifest's.</summary>
    public Digest Digest => Index?.Digest ?? Manifest.Digest;
}

/// <summary>
/// A blob response being read. <see cref="Offset"/> is where its bytes start in the blob: the
/// requested offset when the registry honoured the Range request, 0 when it sent the whole blob.
/// </summary>
public sealed class BlobResponse : IDisposable
{
    private readonly HttpResponseMessage _response;

    internal BlobResponse(HttpResponseMessage response, Stream content, long offset)
    {
        _response = response;
        Content = content;
        Offset = offset;
    }

    public Stream Content { get; }

    public long Offset { get; }

    public void Dispose()
    {
        Content.Dispose();
        _response.Dispose();
    }
}
