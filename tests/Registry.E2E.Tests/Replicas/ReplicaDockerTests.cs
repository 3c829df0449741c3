using System.Net;
using Registry.Testing;
using Registry.Testing.Images;
using Xunit.Abstractions;

namespace Registry.E2E.Tests.Replicas;

/// <summary>The docker CLI against two replicas: what one is given, the other serves.</summary>
[Collection(ReplicaCollection.Name)]
public sealed class ReplicaDockerTests(ReplicaPairFixture fixture, ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private readonly ReplicaDockerClients _clients = new();

    private ReplicaPair Pair => fixture.Pair;

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _clients.RemoveAllAsync(CancellationToken.None);

    public void Dispose() => _clients.Dispose();

    [Fact]
    public async Task An_image_pushed_through_one_replica_is_pulled_through_the_other()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var docker = await _clients.NewClientAsync(ct);
        foreach (var replica in Pair.Replicas)
        {
            (await docker.LoginAsync(replica.HostPort, replica.Admin, ct)).EnsureSuccess();
        }

        var repository = TestNames.Repository("across");
        var image = TestImages.Create(layerCount: 3);
        var pushed = $"{Pair.First.HostPort}/{repository}:v1";
        var pulled = $"{Pair.Second.HostPort}/{repository}:v1";
        await _clients.LoadAsync(docker, image, pushed, ct);
        await docker.PushAsync(pushed, ct);
        await _clients.RemoveAllAsync(ct);

        _clients.Track(pulled);
        var pull = await docker.PullAsync(pulled, ct);

        output.WriteLine(pull.ToString());
        Assert.Equal(image.Config.Digest, await docker.ImageIdAsync(pulled, ct));
        Assert.Contains($"hello from test image {image.ContentMarker}", (await docker.RunContainerAsync(pulled, cancellationToken: ct)).StandardOutput, StringComparison.Ordinal);
        Assert.Empty(Pair.LocalBlobFiles());
    }

    [Fact]
    public async Task Concurrent_pushes_of_images_sharing_layers_through_different_replicas_store_each_blob_once()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var ct = timeout.Token;
        var dockers = new[] { await _clients.NewClientAsync(ct), await _clients.NewClientAsync(ct) };
        for (var i = 0; i < 2; i++)
        {
            (await dockers[i].LoginAsync(Pair.Replicas[i].HostPort, Pair.Replicas[i].Admin, ct)).EnsureSuccess();
        }

        var keysBefore = (await Pair.BlobKeysAsync(ct)).ToHashSet(StringComparer.Ordinal);
        var pushed = new List<(string Repository, TestImage Image)>();
        for (var round = 0; round < 3; round++)
        {
            var shared = TestImages.Create(layerCount: 3);
            var images = new[] { TestImages.Extend(shared), TestImages.Extend(shared) };
            var repositories = new[] { TestNames.Repository($"shared{round}-a"), TestNames.Repository($"shared{round}-b") };
            var references = Enumerable.Range(0, 2).Select(i => $"{Pair.Replicas[i].HostPort}/{repositories[i]}:v1").ToArray();
            for (var i = 0; i < 2; i++)
            {
                await _clients.LoadAsync(dockers[i], images[i], references[i], ct);
            }

            var pushes = await Task.WhenAll(Enumerable.Range(0, 2).Select(i => dockers[i].TryPushAsync(references[i], ct)));

            for (var i = 0; i < 2; i++)
            {
                output.WriteLine($"round {round}, {references[i]}:\n{pushes[i]}");
                Assert.True(pushes[i].Succeeded, pushes[i].ToString());
                pushed.Add((repositories[i], images[i]));
            }
        }

        // What the registry holds: every manifest's config and layers, each stored once in the bucket.
        var expected = new HashSet<string>(StringComparer.Ordinal);
        var manifests = new List<IReadOnlyList<string>>();
        for (var i = 0; i < pushed.Count; i++)
        {
            var blobs = await ReplicaDockerClients.ManifestBlobsAsync(Pair.Replicas[i % 2], pushed[i].Repository, ct);
            manifests.Add(blobs);
            expected.UnionWith(blobs);
        }

        for (var i = 0; i < pushed.Count; i += 2)
        {
            Assert.Equal(3, manifests[i].Skip(1).Intersect(manifests[i + 1].Skip(1)).Count());
        }

        var keys = (await Pair.BlobKeysAsync(ct)).Where(k => !keysBefore.Contains(k)).ToList();
        Assert.Equal(keys.Count, keys.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal(expected.Select(d => $"blobs/sha256/{d[7..9]}/{d[7..]}").Order(StringComparer.Ordinal), keys.Order(StringComparer.Ordinal));
        Assert.Empty(Pair.LocalBlobFiles());

        // Every blob verifies when read through either replica, and every image pulls through the other one.
        for (var i = 0; i < pushed.Count; i++)
        {
            foreach (var replica in Pair.Replicas)
            {
                using var http = new ReplicaHttp(replica, await ReplicaHttp.TokenAsync(replica, pushed[i].Repository, ct));
                foreach (var digest in manifests[i])
                {
                    var (status, content) = await http.GetBlobAsync(pushed[i].Repository, digest, ct);
                    Assert.Equal(HttpStatusCode.OK, status);
                    Assert.Equal(digest, ReplicaHttp.Digest(content!));
                }
            }
        }

        await _clients.RemoveAllAsync(ct);
        for (var i = 0; i < pushed.Count; i++)
        {
            var other = 1 - (i % 2);
            var reference = $"{Pair.Replicas[other].HostPort}/{pushed[i].Repository}:v1";
            _clients.Track(reference);
            await dockers[other].PullAsync(reference, ct);
            Assert.Equal(pushed[i].Image.Config.Digest, await dockers[other].ImageIdAsync(reference, ct));
        }
    }
}
