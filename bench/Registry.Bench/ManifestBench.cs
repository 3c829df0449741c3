using System.Diagnostics;
using System.Formats.Tar;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Registry.Bench;

/// <summary>
/// Pushes a small image tagged "bench" (the target of the manifest-GET load test) and N more tags
/// on the same manifest, then times tags/list from a single client. The load tests themselves are wrk's.
/// </summary>
internal static class ManifestBench
{
    public const string ManifestMediaType = "application/vnd.oci.image.manifest.v1+json";
    public const string Accept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";

    public static async Task<int> RunAsync(Options options)
    {
        var repo = options.Get("repo");
        var tagCount = options.GetInt("tags", 1000);
        var listBudget = TimeSpan.FromSeconds(options.GetInt("list-seconds", 15));
        var sink = new ResultSink(options.Get("results"), options.Get("label"));
        using var client = new RegistryClient(options.GetUri("base"), RegistryCredentials.FromOptions(options));

        byte[]? manifest = null;
        var failures = await BlobBench.GuardAsync(sink, "small image push", async () =>
        {
            manifest = await PushSmallImageAsync(client, repo);
            var served = await client.GetManifestAsync(repo, "bench", Accept);
            if (!served.AsSpan().SequenceEqual(manifest))
            {
                throw new BenchException("GET manifests/bench returned different bytes than were pushed");
            }
        });
        if (manifest is null)
        {
            return 1;
        }

        failures += await BlobBench.GuardAsync(sink, "tag push", async () =>
        {
            var clock = Stopwatch.StartNew();
            // A few requests in flight, as a CI job pushing many tags would do.
            await Parallel.ForEachAsync(
                Enumerable.Range(0, tagCount),
                new ParallelOptions { MaxDegreeOfParallelism = 4 },
                async (i, _) => await client.PutManifestAsync(repo, $"t{i:D4}", manifest, ManifestMediaType));
            sink.Add("tags_push_s", clock.Elapsed.TotalSeconds);
        });

        failures += await BlobBench.GuardAsync(sink, "tags list", async () =>
        {
            for (var i = 0; i < 3; i++)
            {
                var count = await client.CountTagsAsync(repo);
                if (i == 0 && count != tagCount + 1)
                {
                    sink.Note($"tags/list returned {count} tags, expected {tagCount + 1} (paginated by default?)");
                }
            }

            var iterations = 0;
            var clock = Stopwatch.StartNew();
            while (iterations < 100_000 && (iterations < 20 || clock.Elapsed < listBudget))
            {
                await client.CountTagsAsync(repo);
                iterations++;
            }

            sink.Add("tags_list_mean_ms", clock.Elapsed.TotalMilliseconds / iterations);
        });
        return failures == 0 ? 0 : 1;
    }

    /// <summary>Config + one real gzip'd tar layer + OCI manifest tagged "bench"; returns the manifest bytes.</summary>
    private static async Task<byte[]> PushSmallImageAsync(RegistryClient client, string repo)
    {
        var tar = new MemoryStream();
        using (var writer = new TarWriter(tar, TarEntryFormat.Pax, leaveOpen: true))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "bench.txt")
            {
                DataStream = new MemoryStream(Encoding.UTF8.GetBytes("registry benchmark layer\n")),
            };
            writer.WriteEntry(entry);
        }

        var layer = new MemoryStream();
        using (var gzip = new GZipStream(layer, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(tar.ToArray());
        }

        var layerBytes = layer.ToArray();
        var config = JsonSerializer.SerializeToUtf8Bytes(new
        {
            architecture = DockerArchive.Architecture,
            os = "linux",
            config = new { },
            rootfs = new { type = "layers", diff_ids = new[] { Digest(tar.ToArray()) } },
        });

        var layerDigest = Digest(layerBytes);
        var configDigest = Digest(config);
        await client.UploadSmallAsync(repo, layerBytes, layerDigest);
        await client.UploadSmallAsync(repo, config, configDigest);
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType = ManifestMediaType,
            config = new { mediaType = "application/vnd.oci.image.config.v1+json", digest = configDigest, size = config.Length },
            layers = new[] { new { mediaType = "application/vnd.oci.image.layer.v1.tar+gzip", digest = layerDigest, size = layerBytes.Length } },
        });
        await client.PutManifestAsync(repo, "bench", manifest, ManifestMediaType);
        return manifest;
    }

    public static string Digest(byte[] data) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(data));
}
