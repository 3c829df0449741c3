using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Registry.Core;

namespace Registry.Api.Tests.Infrastructure;

/// <summary>A manifest's exact bytes, its media type and digest.</summary>
internal sealed record TestManifest(byte[] Content, string MediaType)
{
    public string Digest { get; } = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Content));

    public long Size => Content.Length;

    public JsonObject Descriptor(string? os = null, string? architecture = null)
    {
        var descriptor = new JsonObject { ["mediaType"] = MediaType, ["digest"] = Digest, ["size"] = Size };
        if (os is not null && architecture is not null)
        {
            descriptor["platform"] = new JsonObject { ["os"] = os, ["architecture"] = architecture };
        }

        return descriptor;
    }
}

/// <summary>Builds the manifest formats the registry stores.</summary>
internal static class Manifests
{
    public const string LayerTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
    public const string DockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";

    public static JsonObject Descriptor(string mediaType, TestBlob blob) =>
        new() { ["mediaType"] = mediaType, ["digest"] = blob.Digest, ["size"] = blob.Size };

    public static TestManifest OciImage(TestBlob config, IEnumerable<TestBlob> layers, JsonObject? extra = null) =>
        Image(MediaTypes.OciManifest, Descriptor(MediaTypes.OciConfig, config), layers.Select(l => Descriptor(LayerTarGzip, l)), extra);

    public static TestManifest OciImage(TestBlob config, params TestBlob[] layers) => OciImage(config, layers, extra: null);

    public static TestManifest DockerImage(TestBlob config, params TestBlob[] layers) =>
        Image(MediaTypes.DockerManifest, Descriptor(MediaTypes.DockerContainerConfig, config), layers.Select(l => Descriptor(DockerLayer, l)), extra: null);

    /// <summary>An artifact: an image manifest with artifactType and the empty config.</summary>
    public static TestManifest Artifact(string artifactType, TestBlob layer, TestManifest? subject = null, IReadOnlyDictionary<string, string>? annotations = null)
    {
        var extra = new JsonObject { ["artifactType"] = artifactType };
        AddSubjectAndAnnotations(extra, subject, annotations);
        return Image(MediaTypes.OciManifest, Descriptor(MediaTypes.OciEmpty, TestBlob.EmptyJson), [Descriptor(artifactType, layer)], extra);
    }

    /// <summary>An artifact in the older style: the config's media type names the artifact type.</summary>
    public static TestManifest ConfigTypedArtifact(string artifactType, TestBlob config, TestManifest subject, IReadOnlyDictionary<string, string>? annotations = null)
    {
        var extra = new JsonObject();
        AddSubjectAndAnnotations(extra, subject, annotations);
        return Image(MediaTypes.OciManifest, Descriptor(artifactType, config), [Descriptor(MediaTypes.OciEmpty, TestBlob.EmptyJson)], extra);
    }

    public static TestManifest OciIndex(IEnumerable<JsonObject> manifests, JsonObject? extra = null) =>
        Index(MediaTypes.OciIndex, manifests, extra);

    public static TestManifest DockerManifestList(IEnumerable<JsonObject> manifests) =>
        Index(MediaTypes.DockerManifestList, manifests, extra: null);

    public static TestManifest Raw(string json, string mediaType) => new(Encoding.UTF8.GetBytes(json), mediaType);

    public static void AddSubjectAndAnnotations(JsonObject target, TestManifest? subject, IReadOnlyDictionary<string, string>? annotations)
    {
        if (subject is not null)
        {
            target["subject"] = subject.Descriptor();
        }

        if (annotations is not null)
        {
            var node = new JsonObject();
            foreach (var (key, value) in annotations)
            {
                node[key] = value;
            }

            target["annotations"] = node;
        }
    }

    private static TestManifest Image(string mediaType, JsonObject config, IEnumerable<JsonObject> layers, JsonObject? extra)
    {
        var root = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = mediaType, ["config"] = config, ["layers"] = new JsonArray([.. layers]) };
        Merge(root, extra);
        return new TestManifest(Encoding.UTF8.GetBytes(root.ToJsonString()), mediaType);
    }

    private static TestManifest Index(string mediaType, IEnumerable<JsonObject> manifests, JsonObject? extra)
    {
        var root = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = mediaType, ["manifests"] = new JsonArray([.. manifests]) };
        Merge(root, extra);
        return new TestManifest(Encoding.UTF8.GetBytes(root.ToJsonString()), mediaType);
    }

    private static void Merge(JsonObject root, JsonObject? extra)
    {
        if (extra is null)
        {
            return;
        }

        foreach (var (key, value) in extra.ToList())
        {
            extra.Remove(key);
            root[key] = value;
        }
    }
}
