using System.Globalization;
using System.Text.Json.Nodes;

namespace Registry.Testing.Images;

/// <summary>
/// Builds test images from Debian's busybox-static without any base image (none can be pulled here).
/// Layer 1 is a root filesystem: /bin/busybox, its applet links and a marker file; layer 2 is
/// /hello.txt; layer 3 is /app/run.sh, the entrypoint; each further layer adds /layers/N.txt.
/// Every file names the build's marker, so two builds never share a digest unless one
/// extends the other (<see cref="Extend"/>).
/// </summary>
public static class TestImages
{
    public const string BusyboxPath = "/bin/busybox";

    private static readonly string[] Applets =
    [
        "sh", "echo", "cat", "ls", "env", "sleep", "true", "false", "id", "uname", "hostname",
        "mkdir", "rm", "cp", "mv", "wc", "head", "tail", "grep", "sha256sum", "printf", "test",
    ];

    private static readonly Lazy<byte[]> Busybox = new(() => File.Exists(BusyboxPath)
        ? File.ReadAllBytes(BusyboxPath)
        : throw new InvalidOperationException($"{BusyboxPath} is missing: install Debian's busybox-static (test.sh does)."));

    /// <summary>A fresh marker: unique per call.</summary>
    public static string NewMarker() => Guid.NewGuid().ToString("N")[..16];

    /// <summary>Builds an image of <paramref name="layerCount"/> layers (at least 1) for a platform.</summary>
    public static TestImage Create(int layerCount = 3, string architecture = "amd64", string? marker = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(layerCount, 1);
        marker ??= NewMarker();
        var layers = new List<Layer> { RootFileSystem(marker) };
        if (layerCount >= 2)
        {
            layers.Add(new LayerWriter()
                .File("hello.txt", HelloText(marker))
                .Finish("COPY hello.txt /hello.txt"));
        }

        if (layerCount >= 3)
        {
            layers.Add(new LayerWriter()
                .Directory("app")
                .File("app/run.sh", RunScript + $"# image {marker}\n", executable: true)
                .Finish("COPY run.sh /app/run.sh"));
        }

        for (var n = 4; n <= layerCount; n++)
        {
            layers.Add(ExtraLayer(n, marker));
        }

        return Assemble(marker, marker, architecture, layers);
    }

    /// <summary>
    /// A new image made of all of <paramref name="baseImage"/>'s layers plus one more: the two
    /// share every layer but the last, as an application image shares its base image's.
    /// </summary>
    public static TestImage Extend(TestImage baseImage, string? marker = null)
    {
        ArgumentNullException.ThrowIfNull(baseImage);
        marker ??= NewMarker();
        var layers = baseImage.Layers.Append(ExtraLayer(baseImage.Layers.Count + 1, marker)).ToList();
        return Assemble(marker, baseImage.ContentMarker, baseImage.Architecture, layers);
    }

    /// <summary>
    /// A linux/amd64 + linux/arm64 image index. The arm64 image carries the same (amd64) busybox:
    /// it is meant to be copied, never run.
    /// </summary>
    public static TestImageIndex CreateMultiPlatform(int layerCount = 2, string? marker = null)
    {
        marker ??= NewMarker();
        return new TestImageIndex(
        [
            Create(layerCount, "amd64", marker + "-amd64"),
            Create(layerCount, "arm64", marker + "-arm64"),
        ]);
    }

    private static Layer RootFileSystem(string marker)
    {
        var writer = new LayerWriter()
            .Directory("bin")
            .File("bin/busybox", Busybox.Value, executable: true);
        foreach (var applet in Applets)
        {
            writer.Symlink($"bin/{applet}", "busybox");
        }

        return writer
            .Directory("dev")
            .Directory("etc")
            .File("etc/test-image-marker", marker + "\n")
            .Directory("proc")
            .Directory("root")
            .Directory("sys")
            .Directory("tmp", (UnixFileMode)0b1_111_111_111) // 1777, like a real /tmp
            .Finish("ADD busybox rootfs /");
    }

    private static Layer ExtraLayer(int n, string marker)
    {
        var name = n.ToString(CultureInfo.InvariantCulture);
        return new LayerWriter()
            .Directory("layers")
            .File($"layers/{name}.txt", $"layer {name} of {marker}\n")
            .Finish($"COPY {name}.txt /layers/{name}.txt");
    }

    private static string HelloText(string marker) => $"hello from test image {marker}\n";

    // The entrypoint of 3+-layer images: shows the env from the config, a file from layer 2 and the arguments.
    private const string RunScript = """
        #!/bin/sh
        echo "marker=$TEST_IMAGE_MARKER"
        cat /hello.txt
        echo "args=$*"

        """;

    /// <param name="marker">This build's marker, in the config's environment.</param>
    /// <param name="contentMarker">The marker of the build that wrote the base layers' files.</param>
    private static TestImage Assemble(string marker, string contentMarker, string architecture, List<Layer> layers)
    {
        // What the default command prints depends on which layers the image has.
        var hasHello = layers.Count >= 2;
        var hasScript = layers.Count >= 3;
        JsonNode? entrypoint = hasScript ? new JsonArray("/bin/sh", "/app/run.sh") : null;
        var cmd = hasScript ? new JsonArray("default-args")
            : hasHello ? new JsonArray("/bin/cat", "/hello.txt")
            : new JsonArray("/bin/cat", "/etc/test-image-marker");
        var expectedOutput = hasScript ? $"marker={marker}\n{HelloText(contentMarker)}args=default-args\n"
            : hasHello ? HelloText(contentMarker)
            : contentMarker + "\n";

        var created = LayerWriter.Timestamp.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var config = new JsonObject
        {
            ["created"] = created,
            ["architecture"] = architecture,
            ["os"] = "linux",
            ["config"] = new JsonObject
            {
                ["Env"] = new JsonArray("PATH=/bin", $"TEST_IMAGE_MARKER={marker}"),
                ["Entrypoint"] = entrypoint,
                ["Cmd"] = cmd,
                ["WorkingDir"] = "/",
                ["Labels"] = new JsonObject { ["org.opencontainers.image.title"] = "registry test image" },
            },
            ["rootfs"] = new JsonObject
            {
                ["type"] = "layers",
                ["diff_ids"] = new JsonArray(layers.Select(l => (JsonNode)l.DiffId).ToArray()),
            },
            ["history"] = new JsonArray(layers
                .Select(l => (JsonNode)new JsonObject { ["created"] = created, ["created_by"] = l.CreatedBy })
                .ToArray()),
        };

        return new TestImage(marker, contentMarker, architecture, layers, new Blob(ImageMediaTypes.OciConfig, Json.Bytes(config)), expectedOutput);
    }
}
