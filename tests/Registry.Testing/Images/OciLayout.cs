using System.Text.Json.Nodes;

namespace Registry.Testing.Images;

/// <summary>Writes OCI image layout directories (oci-layout, index.json, blobs/sha256/…).</summary>
internal static class OciLayout
{
    private const string RefNameAnnotation = "org.opencontainers.image.ref.name";

    public static async Task WriteAsync(
        string directory, string tag, Blob root, IEnumerable<Blob> blobs, CancellationToken cancellationToken)
    {
        var blobDirectory = Path.Combine(directory, "blobs", "sha256");
        Directory.CreateDirectory(blobDirectory);
        foreach (var blob in blobs.DistinctBy(b => b.Digest))
        {
            await File.WriteAllBytesAsync(Path.Combine(blobDirectory, blob.Hex), blob.Content, cancellationToken)
                .ConfigureAwait(false);
        }

        var descriptor = Json.Descriptor(root.ToDescriptor());
        descriptor["annotations"] = new JsonObject { [RefNameAnnotation] = tag };
        var index = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = ImageMediaTypes.OciIndex,
            ["manifests"] = new JsonArray(descriptor),
        };
        await File.WriteAllTextAsync(Path.Combine(directory, "oci-layout"), """{"imageLayoutVersion":"1.0.0"}""", cancellationToken)
            .ConfigureAwait(false);
        await File.WriteAllBytesAsync(Path.Combine(directory, "index.json"), Json.Bytes(index), cancellationToken)
            .ConfigureAwait(false);
    }
}
