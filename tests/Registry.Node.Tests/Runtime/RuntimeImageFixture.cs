using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Registry.Core;
using Registry.Core.Manifests;
using Registry.Node.Client;
using Registry.Node.Content;
using Registry.Node.Snapshots;
using Registry.Node.Tests.Cli;
using Registry.Node.Tests.Snapshots;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Runtime;

/// <summary>
/// A node root holding one busybox test image (two layers: the busybox root filesystem, then
/// /hello.txt; its default command is <c>cat /hello.txt</c>), shared by a test class's containers.
/// The image is put into the stores directly — blobs into the content store, layers unpacked
/// into snapshots, the record into images.json — exactly as a pull leaves them, so the runtime
/// tests need no registry (pulling is PullCommandTests' subject).
/// </summary>
public sealed class RuntimeImageFixture : IAsyncLifetime, IDisposable
{
    public const string Reference = "registry.test/node-tests/runtime:latest";

    private readonly TemporaryDirectory _directory = new("node-runtime");

    public string Root => _directory.Combine("root");

    public TestImage Image { get; } = TestImages.Create(layerCount: 2);

    public IReadOnlyList<Digest> ChainIds { get; private set; } = [];

    public async Task InitializeAsync()
    {
        ChainIds = await ImportAsync(Root, Image, Reference);
    }

    public Task DisposeAsync()
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _directory.Dispose();
        // Each container's cgroup went when it exited; the registry-node parents go too unless another run still uses them.
        Registry.Node.Runtime.Cgroups.CgroupManager.ForHost().RemoveParentsIfEmpty();
    }

    /// <summary><c>registry-node --root ROOT ARGS…</c>.</summary>
    public Task<ProcessResult> RunAsync(params string[] arguments) => RunWithEnvironmentAsync(new Dictionary<string, string?>(), arguments);

    /// <summary><c>registry-node --root ROOT ARGS…</c> with these environment variables too.</summary>
    public Task<ProcessResult> RunWithEnvironmentAsync(IReadOnlyDictionary<string, string?> environment, params string[] arguments) =>
        ProcessRunner.RunAsync(
            NodeCliProcess.Executable,
            ["--root", Root, .. arguments],
            TimeSpan.FromMinutes(2),
            new Dictionary<string, string?>(environment) { ["DOCKER_CONFIG"] = _directory.Combine("docker"), ["REGISTRY_NODE_ROOT"] = null });

    /// <summary>The directory of the container named <paramref name="name"/>.</summary>
    public string ContainerDirectory(string name)
    {
        var id = File.ReadAllText(Path.Combine(Root, "containers", ".names", name));
        return Path.Combine(Root, "containers", id);
    }

    /// <summary>Puts <paramref name="image"/> into the node's stores under <paramref name="reference"/>, as a pull would.</summary>
    public static Task<IReadOnlyList<Digest>> ImportAsync(string root, TestImage image, string reference) =>
        ImportAsync(
            root,
            reference,
            image.Config.Content,
            [.. image.Layers.Select(l => new ImportedLayer(l.Compressed.MediaType, l.Compressed.Content, l.DiffId))]);

    /// <summary>
    /// An image of the busybox root filesystem plus a layer with /etc/passwd and /etc/group
    /// (users root, app 1000, with groups app 1000, wheel 10 and audio 29), whose config says
    /// <c>User: app</c> and <c>Cmd: ["id"]</c>.
    /// </summary>
    public async Task ImportUsersImageAsync(string reference)
    {
        var users = new TestLayer()
            .Dir("etc")
            .File("etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n")
            .File("etc/group", "root:x:0:\napp:x:1000:\nwheel:x:10:app\naudio:x:29:app\n");
        ImportedLayer[] layers =
        [
            new(Image.Layers[0].Compressed.MediaType, Image.Layers[0].Compressed.Content, Image.Layers[0].DiffId),
            new(TestLayer.MediaType(LayerCompression.Gzip), users.Blob(LayerCompression.Gzip), users.DiffId()),
        ];
        var config = new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["config"] = new JsonObject { ["Env"] = new JsonArray("PATH=/bin"), ["User"] = "app", ["Cmd"] = new JsonArray("id") },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray([.. layers.Select(l => (JsonNode)l.DiffId)]) },
        };
        await ImportAsync(Root, reference, Encoding.UTF8.GetBytes(config.ToJsonString()), layers);
    }

    /// <summary>The busybox root filesystem plus <paramref name="extra"/> on top, with the busybox image's config; returns the chain ids, bottom first.</summary>
    internal async Task<IReadOnlyList<Digest>> ImportWithLayerAsync(string reference, TestLayer extra)
    {
        ImportedLayer[] layers =
        [
            new(Image.Layers[0].Compressed.MediaType, Image.Layers[0].Compressed.Content, Image.Layers[0].DiffId),
            new(TestLayer.MediaType(LayerCompression.Gzip), extra.Blob(LayerCompression.Gzip), extra.DiffId()),
        ];
        var config = new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["config"] = new JsonObject { ["Env"] = new JsonArray("PATH=/bin"), ["Cmd"] = new JsonArray("sh") },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray([.. layers.Select(l => (JsonNode)l.DiffId)]) },
        };
        return await ImportAsync(Root, reference, Encoding.UTF8.GetBytes(config.ToJsonString()), layers);
    }

    private static async Task<IReadOnlyList<Digest>> ImportAsync(string root, string reference, byte[] configBytes, IReadOnlyList<ImportedLayer> layers)
    {
        var content = new ContentStore(root);
        var config = DigestOf(configBytes);
        await content.WriteAsync(config, configBytes, CancellationToken.None);
        var descriptors = new List<Descriptor>();
        foreach (var layer in layers)
        {
            var digest = DigestOf(layer.Blob);
            await content.WriteAsync(digest, layer.Blob, CancellationToken.None);
            descriptors.Add(new Descriptor(layer.MediaType, digest, layer.Blob.Length));
        }

        var manifestJson = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = ImageMediaTypes.OciManifest,
            ["config"] = new JsonObject { ["mediaType"] = ImageMediaTypes.OciConfig, ["digest"] = config.ToString(), ["size"] = configBytes.Length },
            ["layers"] = new JsonArray([.. descriptors.Select(d => (JsonNode)new JsonObject { ["mediaType"] = d.MediaType, ["digest"] = d.Digest.ToString(), ["size"] = d.Size })]),
        };
        var manifestBytes = Encoding.UTF8.GetBytes(manifestJson.ToJsonString());
        var manifest = DigestOf(manifestBytes);
        await content.WriteAsync(manifest, manifestBytes, CancellationToken.None);
        var chainIds = await new SnapshotStore(root).UnpackAsync(content, descriptors, [.. layers.Select(l => Digest.Parse(l.DiffId))], CancellationToken.None);
        var record = new ImageRecord(
            ImageReference.Parse(reference).ToString(), manifest, manifest, config, "linux/amd64",
            configBytes.Length + descriptors.Sum(d => d.Size), DateTimeOffset.UtcNow)
        {
            ChainIds = chainIds,
        };
        await new ImageStore(content).AddAsync(record);
        return chainIds;
    }

    private static Digest DigestOf(byte[] content) => Digest.Parse("sha256:" + Convert.ToHexStringLower(SHA256.HashData(content)));

    private sealed record ImportedLayer(string MediaType, byte[] Blob, string DiffId);
}
