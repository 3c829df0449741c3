using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using Registry.Testing;
using Xunit.Abstractions;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Gc;

/// <summary>
/// The race that breaks registries whose collection runs beside pushes: many clients push images that share layers,
/// some of them layers of images deleted a moment ago, while collection runs in a loop with no review delay (an
/// administrator's runs and the background worker at once). Afterwards every image the registry accepted pulls and
/// verifies, and the store holds exactly the blobs that the remaining images use.
/// </summary>
public abstract class GcRaceTests(ITestOutputHelper output)
{
    private const int Clients = 20;
    private const int Rounds = 10;
    private const int PushAttempts = 3;
    private const int MaxGcRuns = 5_000;

    /// <summary>
    /// Long enough for a push to go from checking its blobs to putting its manifest, short enough that content of
    /// deleted images is collected many times over while the clients push.
    /// </summary>
    private static readonly TimeSpan UploadGrace = TimeSpan.FromSeconds(6);

    protected abstract Task<Dictionary<string, string?>> DatabaseSettingsAsync();

    [Fact]
    public async Task PushesDeletesAndCollectionInParallelLoseNothingAndLeaveNothing()
    {
        var settings = await DatabaseSettingsAsync();
        settings["Registry:Gc:ReviewDelay"] = "00:00:00";
        settings["Registry:Gc:UploadGrace"] = UploadGrace.ToString("c");
        settings["Registry:Gc:DeleteUntagged"] = "true";
        settings["Registry:Gc:PollInterval"] = "00:00:00.100";
        // A batch whose claim could not be given back (the machine too busy even for that) is taken again soon.
        settings["Registry:Gc:ClaimDuration"] = "00:00:10";
        await using var registry = RegistryFactory.WithSettings(settings);
        using var admin = registry.CreateApiClient(RegistryFactory.Admin, registry.AdminPassword);
        var world = new World();

        var pushing = Task.WhenAll(Enumerable.Range(0, Clients).Select(c => Task.Run(() => ClientAsync(registry, world, c))));
        var collected = await CollectUntilAsync(admin, pushing);
        await pushing;

        output.WriteLine($"{world.Live.Count} images kept, {world.Deleted.Count} deleted, {world.Retries} pushes retried (slowest push {world.SlowestPush.TotalSeconds:F1} s), " +
            $"{collected.Runs} collection runs removed {collected.Blobs} blobs and {collected.Manifests} manifests meanwhile");
        Assert.True(collected.Blobs > 0, "collection removed nothing while the clients pushed: the race was not run");
        Assert.False(world.Deleted.IsEmpty);

        // Every image the registry accepted and nobody deleted pulls, byte for byte.
        using var reader = registry.CreateRegistryClient();
        foreach (var image in world.Live.Values)
        {
            await AssertPullsAsync(reader, image);
        }

        // Once the grace of the last pushes is over, collection leaves exactly what the remaining images use.
        // The background worker collects too: runs go on until one finds the queue empty and removes nothing.
        await Task.Delay(UploadGrace + TimeSpan.FromSeconds(1));
        var last = await RunGcAsync(admin);
        for (var run = 0; run < 60 && (last.Removed > 0 || last.Pending > 0); run++)
        {
            await Task.Delay(500);
            last = await RunGcAsync(admin);
        }

        Assert.True(last.Pending == 0, $"{last.Pending} reviews still queued after the clients stopped");

        var expected = world.Live.Values.SelectMany(i => i.Blobs).Select(b => b.Digest).ToHashSet(StringComparer.Ordinal);
        var stored = StoredDigests(registry.DataDirectory);
        Assert.Empty(stored.Except(expected));
        Assert.Empty(expected.Except(stored));
        foreach (var image in world.Live.Values)
        {
            await AssertPullsAsync(reader, image);
        }

        // Deleted by digest, or untagged and then collected: gone.
        foreach (var image in world.Deleted)
        {
            Assert.Equal(HttpStatusCode.NotFound, await reader.StatusAsync(HttpMethod.Get, $"/v2/{image.Repository}/manifests/{image.Manifest.Digest}"));
        }
    }

    private sealed record Image(string Repository, string Tag, TestManifest Manifest, TestBlob[] Blobs);

    private sealed class World
    {
        private int _retries;
        private long _slowestPushTicks;

        public ConcurrentDictionary<string, Image> Live { get; } = new();

        public ConcurrentBag<Image> Deleted { get; } = [];

        /// <summary>Layers every client uses now and then.</summary>
        public TestBlob[] Shared { get; } = [.. Enumerable.Range(0, 6).Select(_ => TestBlob.Random(8_000))];

        /// <summary>Layers of deleted images, which later images use again.</summary>
        public ConcurrentQueue<(string Repository, TestBlob Layer)> Recycled { get; } = new();

        public int Retries => _retries;

        public TimeSpan SlowestPush => TimeSpan.FromTicks(Interlocked.Read(ref _slowestPushTicks));

        public void Retried() => Interlocked.Increment(ref _retries);

        public void Pushed(TimeSpan took)
        {
            var seen = Interlocked.Read(ref _slowestPushTicks);
            while (took.Ticks > seen && Interlocked.CompareExchange(ref _slowestPushTicks, took.Ticks, seen) != seen)
            {
                seen = Interlocked.Read(ref _slowestPushTicks);
            }
        }
    }

    private static async Task ClientAsync(RegistryFactory registry, World world, int client)
    {
        using var http = registry.CreateRegistryClient();
        var random = new Random(client);
        var repository = $"gcrace/r{client % 4}";
        var mine = new List<Image>();
        for (var round = 0; round < Rounds; round++)
        {
            var layers = new List<(TestBlob Blob, string? MountFrom)> { (TestBlob.Random(random.Next(1_000, 40_000)), null) };
            if (random.Next(2) == 0)
            {
                layers.Add((world.Shared[random.Next(world.Shared.Length)], null));
            }

            if (world.Recycled.TryDequeue(out var recycled))
            {
                layers.Add((recycled.Layer, recycled.Repository == repository ? null : recycled.Repository));
            }

            var image = await PushAsync(http, world, repository, $"c{client}-{round}", layers.DistinctBy(l => l.Blob.Digest).ToList());
            mine.Add(image);
            world.Live[image.Tag] = image;

            // Every other round one of this client's images goes, by digest or by its tag.
            if (round % 2 == 1)
            {
                var victim = mine[random.Next(mine.Count)];
                mine.Remove(victim);
                world.Live.TryRemove(victim.Tag, out _);
                var byDigest = random.Next(2) == 0;
                using var deleted = await http.SendAsync(HttpMethod.Delete, $"/v2/{victim.Repository}/manifests/{(byDigest ? victim.Manifest.Digest : victim.Tag)}");
                Assert.Equal(HttpStatusCode.Accepted, deleted.StatusCode);
                world.Deleted.Add(victim);
                foreach (var layer in victim.Blobs.Skip(1))
                {
                    world.Recycled.Enqueue((victim.Repository, layer));
                }
            }
        }
    }

    /// <summary>
    /// Pushes as docker does: a blob the repository already has is not sent again, one another repository has is
    /// mounted, the rest is uploaded; then the manifest. A manifest refused because a blob was collected between
    /// the check and the put (the push took longer than the grace) is pushed again from the start, as a user would.
    /// </summary>
    private static async Task<Image> PushAsync(HttpClient http, World world, string repository, string tag, List<(TestBlob Blob, string? MountFrom)> layers)
    {
        var config = TestBlob.Config();
        var manifest = Manifests.OciImage(config, layers.Select(l => l.Blob));
        for (var attempt = 1; ; attempt++)
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            foreach (var (blob, mountFrom) in layers.Prepend((config, null)))
            {
                await EnsureBlobAsync(http, repository, blob, mountFrom);
            }

            using var put = await http.PutManifestAsync(repository, tag, manifest);
            world.Pushed(started.Elapsed);
            if (put.StatusCode == HttpStatusCode.Created)
            {
                return new Image(repository, tag, manifest, [config, .. layers.Select(l => l.Blob)]);
            }

            var body = await put.Content.ReadAsStringAsync();
            Assert.True(
                attempt < PushAttempts && put.StatusCode == HttpStatusCode.BadRequest && body.Contains("MANIFEST_BLOB_UNKNOWN", StringComparison.Ordinal),
                $"manifest push {repository}:{tag} answered {(int)put.StatusCode} on attempt {attempt}: {body}");
            world.Retried();
        }
    }

    private static async Task EnsureBlobAsync(HttpClient http, string repository, TestBlob blob, string? mountFrom)
    {
        if (await http.StatusAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{blob.Digest}") == HttpStatusCode.OK)
        {
            return;
        }

        if (mountFrom is not null)
        {
            using var mount = await http.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?mount={blob.Digest}&from={mountFrom}");
            if (mount.StatusCode == HttpStatusCode.Created)
            {
                return;
            }

            // Not there any more (collected): the registry opened an upload instead, and the blob is sent into it.
            Assert.Equal(HttpStatusCode.Accepted, mount.StatusCode);
            using var upload = await http.SendAsync(HttpMethod.Put, WithDigest(Location(mount), blob.Digest), blob.Content);
            Assert.Equal(HttpStatusCode.Created, upload.StatusCode);
            return;
        }

        await http.PushBlobAsync(repository, blob);
    }

    private sealed record Collected(int Runs, int Blobs, int Manifests);

    private sealed record RunReport(int Blobs, int Manifests, int Links, int Repositories, int Pending)
    {
        public int Removed => Blobs + Manifests + Links + Repositories;
    }

    /// <summary>An administrator's collection runs, one after another, until the pushes are over (bounded).</summary>
    private static async Task<Collected> CollectUntilAsync(HttpClient admin, Task pushing)
    {
        int runs = 0, blobs = 0, manifests = 0;
        while (!pushing.IsCompleted && runs < MaxGcRuns)
        {
            var report = await RunGcAsync(admin);
            runs++;
            blobs += report.Blobs;
            manifests += report.Manifests;
            await Task.Delay(20);
        }

        return new Collected(runs, blobs, manifests);
    }

    private static async Task<RunReport> RunGcAsync(HttpClient admin)
    {
        using var response = await admin.SendAsync(HttpMethod.Post, "/api/v1/admin/gc", Encoding.UTF8.GetBytes("{\"dryRun\":false}"), "application/json");
        using var json = await ReadJsonAsync(response);
        var root = json.RootElement;
        return new RunReport(root.GetProperty("blobs").GetInt32(), root.GetProperty("manifests").GetInt32(), root.GetProperty("links").GetInt32(), root.GetProperty("repositories").GetInt32(), root.GetProperty("pending").GetInt32());
    }

    private static async Task AssertPullsAsync(HttpClient http, Image image)
    {
        using (var manifest = await http.GetAsync($"/v2/{image.Repository}/manifests/{image.Tag}"))
        {
            Assert.True(manifest.StatusCode == HttpStatusCode.OK, $"{image.Repository}:{image.Tag} answered {(int)manifest.StatusCode}");
            Assert.Equal(image.Manifest.Content, await manifest.Content.ReadAsByteArrayAsync());
        }

        foreach (var blob in image.Blobs)
        {
            using var response = await http.GetAsync($"/v2/{image.Repository}/blobs/{blob.Digest}");
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{image.Repository}:{image.Tag} lost {blob.Digest}: {(int)response.StatusCode}");
            var bytes = await response.Content.ReadAsByteArrayAsync();
            Assert.Equal(blob.Digest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes)));
        }
    }

    /// <summary>The digests of the files in the blob store, read off the directory tree.</summary>
    private static HashSet<string> StoredDigests(string dataDirectory)
    {
        var root = Path.Combine(dataDirectory, "blobs");
        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Select(f => $"{Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(f)))}:{Path.GetFileName(f)}")
            .ToHashSet(StringComparer.Ordinal);
    }
}

/// <summary>The race on the embedded default, SQLite.</summary>
public sealed class SqliteGcRaceTests(ITestOutputHelper output) : GcRaceTests(output)
{
    protected override Task<Dictionary<string, string?>> DatabaseSettingsAsync() => Task.FromResult(new Dictionary<string, string?>());
}

/// <summary>The race on PostgreSQL, where pushes and collection run in truly concurrent transactions.</summary>
public sealed class PostgresGcRaceTests(ITestOutputHelper output) : GcRaceTests(output)
{
    protected override async Task<Dictionary<string, string?>> DatabaseSettingsAsync()
    {
        var server = await PostgresServer.GetAsync();
        return new Dictionary<string, string?>
        {
            ["Registry:Database:Provider"] = "Postgres",
            ["Registry:Database:ConnectionString"] = await server.CreateDatabaseAsync(),
        };
    }
}
