using System.Text.Json.Nodes;

namespace Registry.Testing.Images;

/// <summary>A multi-platform image: an OCI image index over one <see cref="TestImage"/> per platform.</summary>
public sealed class TestImageIndex
{
    internal TestImageIndex(IReadOnlyList<TestImage> images)
    {
        Images = images;
        Index = new Blob(ImageMediaTypes.OciIndex, Json.Bytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = ImageMediaTypes.OciIndex,
            ["manifests"] = new JsonArray(images.Select(i => (JsonNode)i.PlatformDescriptor()).ToArray()),
        }));
    }

    public Blob Index { get; }

    public IReadOnlyList<TestImage> Images { get; }

    /// <summary>Writes an OCI image layout whose <paramref name="tag"/> names the index.</summary>
    public Task WriteOciLayoutAsync(string directory, string tag, CancellationToken cancellationToken = default)
        => OciLayout.WriteAsync(
            directory,
            tag,
            Index,
            Images.SelectMany(i => i.Blobs.Append(i.OciManifest)).Append(Index),
            cancellationToken);
}
