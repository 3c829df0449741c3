namespace Registry.Core;

public static class MediaTypes
{
    public const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    public const string DockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
    public const string DockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
    public const string DockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
    public const string DockerContainerConfig = "application/vnd.docker.container.image.v1+json";
    public const string DockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";

    public const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    public const string OciIndex = "application/vnd.oci.image.index.v1+json";
    public const string OciConfig = "application/vnd.oci.image.config.v1+json";
    public const string OciEmpty = "application/vnd.oci.empty.v1+json";
    public const string OciArtifactManifest = "application/vnd.oci.artifact.manifest.v1+json";

    private const string OciNondistributablePrefix = "application/vnd.oci.image.layer.nondistributable.";

    public const string OctetStream = "application/octet-stream";
    public const string Json = "application/json";

    public static bool IsIndex(string mediaType) => mediaType is OciIndex or DockerManifestList;

    public static bool IsImageManifest(string mediaType) => mediaType is OciManifest or DockerManifest;

    public static bool IsSchema1(string mediaType) =>
        mediaType is DockerSchema1 or DockerSchema1Signed or "application/vnd.docker.distribution.manifest.v1+prettyjws";

    /// <summary>Layers that live outside the registry (the descriptor carries URLs) need not be pushed.</summary>
    public static bool IsNondistributable(string mediaType) =>
        mediaType == DockerForeignLayer || mediaType.StartsWith(OciNondistributablePrefix, StringComparison.Ordinal);
}
