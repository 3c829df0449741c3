using System.Formats.Tar;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Registry.Testing.Images;

/// <summary>
/// A runnable linux image made from busybox: its layers, config, and both a Docker schema 2
/// and an OCI manifest over the same blobs. See <see cref="TestImages"/> for how it is built.
/// </summary>
public sealed class TestImage
{
    internal TestImage(string marker, string contentMarker, string architecture, IReadOnlyList<Layer> layers, Blob config, string expectedOutput)
    {
        Marker = marker;
        ContentMarker = contentMarker;
        Architecture = architecture;
        Layers = layers;
        Config = config;
        ExpectedOutput = expectedOutput;
        OciManifest = new Blob(ImageMediaTypes.OciManifest, Manifest(ImageMediaTypes.OciManifest, ImageMediaTypes.OciConfig, ImageMediaTypes.OciLayerGzip));
        DockerManifest = new Blob(ImageMediaTypes.DockerManifest, Manifest(ImageMediaTypes.DockerManifest, ImageMediaTypes.DockerConfig, ImageMediaTypes.DockerLayerGzip));
    }

    /// <summary>Unique to this build; it is in the image's files and config, so builds differ in digest.</summary>
    public string Marker { get; }

    /// <summary>The marker in the files of the first layers (the base image's, for an extended image).</summary>
    public string ContentMarker { get; }

    public string Architecture { get; }

    public string Os { get; } = "linux";

    public IReadOnlyList<Layer> Layers { get; }

    public Blob Config { get; }

    public Blob OciManifest { get; }

    public Blob DockerManifest { get; }

    /// <summary>What running the image with its default command prints.</summary>
    public string ExpectedOutput { get; }

    /// <summary>The config and every layer.</summary>
    public IEnumerable<Blob> Blobs => Layers.Select(l => l.Compressed).Prepend(Config);

    /// <summary>
    /// Writes a <c>docker load</c> archive (the <c>docker save</c> format: manifest.json plus blobs)
    /// whose image is tagged <paramref name="repositoryTag"/>, e.g. <c>e2e/app:v1</c>.
    /// </summary>
    public async Task WriteDockerArchiveAsync(string path, string repositoryTag, CancellationToken cancellationToken = default)
    {
        DockerArchiveImage[] manifest =
        [
            new(BlobPath(Config), [repositoryTag], Layers.Select(l => BlobPath(l.Compressed)).ToArray()),
        ];

        var file = File.Create(path);
        await using (file.ConfigureAwait(false))
        {
            var writer = new TarWriter(file, TarEntryFormat.Ustar, leaveOpen: true);
            await using (writer.ConfigureAwait(false))
            {
                foreach (var blob in Blobs)
                {
                    await WriteEntryAsync(writer, BlobPath(blob), blob.Content, cancellationToken).ConfigureAwait(false);
                }

                await WriteEntryAsync(writer, "manifest.json", JsonSerializer.SerializeToUtf8Bytes(manifest), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Writes an OCI image layout directory holding this image (OCI manifest) under
    /// <paramref name="tag"/>, for <c>skopeo copy oci:DIR:TAG …</c>.
    /// </summary>
    public Task WriteOciLayoutAsync(string directory, string tag, CancellationToken cancellationToken = default)
        => OciLayout.WriteAsync(directory, tag, OciManifest, Blobs.Append(OciManifest), cancellationToken);

    internal JsonObject PlatformDescriptor() => new()
    {
        ["mediaType"] = OciManifest.MediaType,
        ["digest"] = OciManifest.Digest,
        ["size"] = OciManifest.Size,
        ["platform"] = new JsonObject { ["architecture"] = Architecture, ["os"] = Os },
    };

    private byte[] Manifest(string mediaType, string configType, string layerType) => Json.Bytes(new JsonObject
    {
        ["schemaVersion"] = 2,
        ["mediaType"] = mediaType,
        ["config"] = Json.Descriptor(Config.ToDescriptor(configType)),
        ["layers"] = new JsonArray(Layers.Select(l => (JsonNode)Json.Descriptor(l.Compressed.ToDescriptor(layerType))).ToArray()),
    });

    private static string BlobPath(Blob blob) => $"blobs/sha256/{blob.Hex}";

    private static async Task WriteEntryAsync(TarWriter writer, string name, byte[] content, CancellationToken cancellationToken)
    {
        var entry = new UstarTarEntry(TarEntryType.RegularFile, name)
        {
            ModificationTime = LayerWriter.Timestamp,
            DataStream = new MemoryStream(content, writable: false),
        };
        await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>An entry of a docker archive's manifest.json (its member names are the file's keys).</summary>
    private sealed record DockerArchiveImage(string Config, string[] RepoTags, string[] Layers);
}
