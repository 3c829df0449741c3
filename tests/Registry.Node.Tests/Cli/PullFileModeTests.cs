using System.Text;
using System.Text.Json.Nodes;
using Registry.Core;
using Registry.Node.Snapshots;
using Registry.Node.Tests.Client;
using Registry.Node.Tests.Files;
using Registry.Node.Tests.Snapshots;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Cli;

/// <summary>
/// The modes of what a pull writes: blobs (a private image's layers among them) and the image
/// index owner-only, whatever registry-node's umask; the image's own directory modes as the
/// layer says, and 0755 for a directory the layer only implies, as tar makes it.
/// </summary>
public sealed class PullFileModeTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>, IDisposable
{
    private readonly NodeCliProcess _cli = new(fixture.Registry);

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Pulled_blobs_and_the_image_index_are_owner_only_and_implied_directories_are_0755()
    {
        var layer = new TestLayer()
            .File("usr/share/doc/implied.txt", "a file whose parents have no entries\n")
            .Dir("opt", (UnixFileMode)0x1c0); // 0700 as the layer says
        var chainId = Digest.Parse(layer.DiffId());
        var reference = await PushAsync(layer);

        var result = await _cli.RunAsync("pull", reference);

        Assert.True(result.ExitCode == 0, result.ToString());
        var blobs = Path.Combine(_cli.Root, "blobs");
        var blobFiles = Directory.EnumerateFiles(blobs, "*", SearchOption.AllDirectories).ToList();
        Assert.Equal(3, blobFiles.Count); // layer, config, manifest
        var privateDirectories = Directory.EnumerateDirectories(blobs, "*", SearchOption.AllDirectories).Concat([_cli.Root, blobs, Path.Combine(_cli.Root, "snapshots")]);
        Assert.All(await FileModes.OfAsync(privateDirectories), m => Assert.Equal("700", m.Value));
        Assert.All(await FileModes.OfAsync(blobFiles.Append(Path.Combine(_cli.Root, "images.json"))), m => Assert.Equal("600", m.Value));
        var snapshot = Path.Combine(_cli.Root, "snapshots", ChainIds.Compute([chainId])[0].Encoded);
        string[] directories = ["usr", "usr/share", "usr/share/doc", "opt"];
        var modes = await FileModes.OfAsync(directories.Select(d => Path.Combine(snapshot, d)));
        Assert.Equal(["usr 755", "usr/share 755", "usr/share/doc 755", "opt 700"], directories.Select(d => $"{d} {modes[Path.Combine(snapshot, d)]}"));
    }

    /// <summary>Pushes a one-layer image of <paramref name="layer"/>; returns its reference.</summary>
    private async Task<string> PushAsync(TestLayer layer)
    {
        var repository = RegistryFixture.NewRepository("modes");
        var layerBlob = new Blob(TestLayer.MediaType(LayerCompression.Gzip), layer.Blob(LayerCompression.Gzip));
        var config = new Blob(ImageMediaTypes.OciConfig, Encoding.UTF8.GetBytes(new JsonObject
        {
            ["architecture"] = "amd64",
            ["os"] = "linux",
            ["config"] = new JsonObject { ["Cmd"] = new JsonArray("/bin/true") },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray(layer.DiffId()) },
        }.ToJsonString()));
        var manifest = new Blob(ImageMediaTypes.OciManifest, Encoding.UTF8.GetBytes(new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = ImageMediaTypes.OciManifest,
            ["config"] = Descriptor(config),
            ["layers"] = new JsonArray(Descriptor(layerBlob)),
        }.ToJsonString()));
        using var push = new DistributionPush(fixture.Registry);
        await push.PushBlobAsync(repository, layerBlob);
        await push.PushBlobAsync(repository, config);
        await push.PushManifestAsync(repository, "v1", manifest);
        return $"{fixture.Registry.HostPort}/{repository}:v1";
    }

    private static JsonObject Descriptor(Blob blob) =>
        new() { ["mediaType"] = blob.MediaType, ["digest"] = blob.Digest, ["size"] = blob.Size };
}
