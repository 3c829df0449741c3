using System.Text;
using Registry.Core;
using Registry.Core.Manifests;

namespace Registry.Core.Tests;

public sealed class ManifestParserTests
{
    private static readonly string ConfigDigest = "sha256:" + new string('c', 64);
    private static readonly string LayerDigest = "sha256:" + new string('1', 64);
    private static readonly string ChildDigest = "sha256:" + new string('d', 64);

    private static string Image(string? mediaType = MediaTypes.OciManifest, string extra = "") =>
        "{\"schemaVersion\":2," + (mediaType is null ? "" : $"\"mediaType\":\"{mediaType}\",")
        + $"\"config\":{{\"mediaType\":\"{MediaTypes.OciConfig}\",\"digest\":\"{ConfigDigest}\",\"size\":10}},"
        + $"\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"{LayerDigest}\",\"size\":20}}]{extra}}}";

    private static ParsedManifest Parse(string json, string? contentType) => ManifestParser.Parse(Encoding.UTF8.GetBytes(json), contentType);

    private static RegistryException Fails(string json, string? contentType) =>
        Assert.Throws<RegistryException>(() => Parse(json, contentType));

    [Fact]
    public void Parses_an_oci_image_manifest()
    {
        var manifest = Parse(Image(), MediaTypes.OciManifest);

        Assert.False(manifest.IsIndex);
        Assert.Equal(ConfigDigest, manifest.Config!.Digest.ToString());
        Assert.Equal(20, Assert.Single(manifest.Layers).Size);
        Assert.Equal(2, manifest.RequiredBlobs.Count());
        Assert.Equal(MediaTypes.OciConfig, manifest.ArtifactType);
    }

    [Fact]
    public void Takes_the_media_type_from_content_type_when_the_payload_has_none()
    {
        Assert.Equal(MediaTypes.OciManifest, Parse(Image(mediaType: null), MediaTypes.OciManifest).MediaType);
    }

    [Fact]
    public void Parses_an_index_with_platforms()
    {
        var json = $"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciIndex}\",\"manifests\":[{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{ChildDigest}\",\"size\":5,\"platform\":{{\"os\":\"linux\",\"architecture\":\"arm64\",\"variant\":\"v8\"}}}}]}}";

        var index = Parse(json, MediaTypes.OciIndex);

        Assert.True(index.IsIndex);
        Assert.Equal("linux/arm64/v8", Assert.Single(index.Manifests).Platform!.ToString());
        Assert.Empty(index.RequiredBlobs);
    }

    [Fact]
    public void Records_subject_artifact_type_and_annotations()
    {
        var extra = $",\"artifactType\":\"application/vnd.example.sbom\",\"subject\":{{\"mediaType\":\"{MediaTypes.OciManifest}\",\"digest\":\"{ChildDigest}\",\"size\":5}},\"annotations\":{{\"org.example\":\"x\"}}";

        var manifest = Parse(Image(extra: extra), MediaTypes.OciManifest);

        Assert.Equal(ChildDigest, manifest.Subject!.Digest.ToString());
        Assert.Equal("application/vnd.example.sbom", manifest.ArtifactType);
        Assert.Equal("x", manifest.Annotations!["org.example"]);
    }

    [Fact]
    public void Foreign_layers_with_urls_are_not_required_blobs()
    {
        var json = $"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.DockerManifest}\",\"config\":{{\"mediaType\":\"{MediaTypes.DockerContainerConfig}\",\"digest\":\"{ConfigDigest}\",\"size\":1}},\"layers\":[{{\"mediaType\":\"{MediaTypes.DockerForeignLayer}\",\"digest\":\"{LayerDigest}\",\"size\":1,\"urls\":[\"https://example.invalid/layer\"]}}]}}";

        var manifest = Parse(json, MediaTypes.DockerManifest);

        Assert.Equal(ConfigDigest, Assert.Single(manifest.RequiredBlobs).Digest.ToString());
    }

    [Fact]
    public void Refuses_json_that_is_not_json()
    {
        var e = Fails("{not json", MediaTypes.OciManifest);
        Assert.Equal("MANIFEST_INVALID", e.Error.Code);
    }

    [Fact]
    public void Refuses_schema_1()
    {
        var e = Fails("{\"schemaVersion\":1,\"name\":\"a\",\"tag\":\"b\",\"fsLayers\":[]}", MediaTypes.DockerSchema1Signed);
        Assert.Contains("schema 1", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_a_content_type_that_contradicts_the_payload()
    {
        var e = Fails(Image(), MediaTypes.DockerManifest);
        Assert.Contains("does not match", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Refuses_an_unknown_media_type()
    {
        Fails(Image(mediaType: "application/vnd.example+json"), null);
    }

    [Fact]
    public void Refuses_an_oversize_payload_with_413()
    {
        var e = Assert.Throws<RegistryException>(() => ManifestParser.Parse(new byte[ManifestParser.MaxManifestBytes + 1], MediaTypes.OciManifest));
        Assert.Equal(413, e.Error.Status);
    }

    [Theory]
    [InlineData("\"size\":-1")]
    [InlineData("\"size\":\"10\"")]
    [InlineData("\"size\":1.5")]
    public void Refuses_bad_descriptor_sizes(string size)
    {
        Fails(Image().Replace("\"size\":10", size, StringComparison.Ordinal), MediaTypes.OciManifest);
    }

    [Fact]
    public void Refuses_a_bad_descriptor_digest()
    {
        Fails(Image().Replace(ConfigDigest, "sha256:nothex", StringComparison.Ordinal), MediaTypes.OciManifest);
    }

    [Fact]
    public void Refuses_a_manifest_without_config()
    {
        Fails($"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciManifest}\",\"layers\":[]}}", MediaTypes.OciManifest);
    }

    [Fact]
    public void Refuses_a_wrong_schema_version()
    {
        Fails(Image().Replace("\"schemaVersion\":2", "\"schemaVersion\":3", StringComparison.Ordinal), MediaTypes.OciManifest);
    }

    [Fact]
    public void Refuses_an_index_with_layers()
    {
        Fails($"{{\"schemaVersion\":2,\"mediaType\":\"{MediaTypes.OciIndex}\",\"manifests\":[],\"layers\":[]}}", MediaTypes.OciIndex);
    }

    [Fact]
    public void Refuses_docker_manifests_without_media_type()
    {
        Fails(Image(mediaType: null), MediaTypes.DockerManifest);
    }
}
