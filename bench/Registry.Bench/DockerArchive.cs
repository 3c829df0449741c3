using System.Formats.Tar;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;

namespace Registry.Bench;

/// <summary>
/// Writes a `docker load` archive (manifest.json + config + uncompressed layer tars) of random,
/// incompressible layers, so a large image exists locally without pulling any base image.
/// </summary>
internal static class DockerArchive
{
    private static readonly string[] Command = ["/bench"];

    public static string Architecture => RuntimeInformation.OSArchitecture switch
    {
        System.Runtime.InteropServices.Architecture.Arm64 => "arm64",
        _ => "amd64",
    };

    public static int Run(Options options)
    {
        var output = options.Get("out");
        var work = options.Get("work");
        var layerCount = options.GetInt("layers", 3);
        var layerSize = (long)options.GetInt("layer-mib", 100) << 20;
        Directory.CreateDirectory(work);

        var layers = new List<(string Path, string DiffId)>();
        for (var i = 0; i < layerCount; i++)
        {
            var data = Path.Combine(work, $"layer{i}.bin");
            var tar = Path.Combine(work, $"layer{i}.tar");
            RandomFile.Write(data, layerSize);
            using (var writer = new TarWriter(File.Create(tar), TarEntryFormat.Pax, leaveOpen: false))
            {
                writer.WriteEntry(data, $"bench/layer{i}.bin");
            }

            File.Delete(data);
            using var stream = File.OpenRead(tar);
            layers.Add((tar, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream))));
        }

        var config = JsonSerializer.SerializeToUtf8Bytes(new
        {
            architecture = Architecture,
            os = "linux",
            created = DateTime.UtcNow.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            config = new { Cmd = Command },
            rootfs = new { type = "layers", diff_ids = layers.Select(l => l.DiffId).ToArray() },
            history = layers.Select((_, i) => new { created_by = $"registry bench random layer {i}" }).ToArray(),
        });
        var configName = Convert.ToHexStringLower(SHA256.HashData(config)) + ".json";
        var layerNames = layers.Select(l => l.DiffId["sha256:".Length..] + "/layer.tar").ToArray();
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new[]
        {
            new { Config = configName, RepoTags = new[] { options.Get("tag") }, Layers = layerNames },
        });

        using (var writer = new TarWriter(File.Create(output), TarEntryFormat.Pax, leaveOpen: false))
        {
            WriteBytes(writer, configName, config);
            for (var i = 0; i < layers.Count; i++)
            {
                writer.WriteEntry(layers[i].Path, layerNames[i]);
            }

            WriteBytes(writer, "manifest.json", manifest);
        }

        foreach (var layer in layers)
        {
            File.Delete(layer.Path);
        }

        return 0;
    }

    private static void WriteBytes(TarWriter writer, string name, byte[] data)
    {
        using var stream = new MemoryStream(data);
        writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, name) { DataStream = stream });
    }
}
