using System.Net;
using Registry.Testing;
using Registry.Testing.Images;
using Xunit.Abstractions;

namespace Registry.E2E.Tests.Replicas;

/// <summary>
/// Replicas that redirect blob GETs to presigned S3 URLs: a docker pull reads its layers from the S3 server, as the S3
/// server's own log of requests shows, and the registry only answers 307.
/// </summary>
[Collection(ReplicaCollection.Name)]
public sealed class ReplicaRedirectTests(ITestOutputHelper output) : IAsyncLifetime, IDisposable
{
    private readonly ReplicaDockerClients _clients = new();
    private S3Server _s3 = null!;

    public async Task InitializeAsync() => _s3 = await S3Server.StartAsync(logRequests: true);

    public async Task DisposeAsync()
    {
        await _clients.RemoveAllAsync(CancellationToken.None);
        await _s3.DisposeAsync();
    }

    public void Dispose() => _clients.Dispose();

    [Fact]
    public async Task A_docker_pull_through_the_other_replica_gets_its_layers_from_s3()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        await using var pair = await ReplicaPair.StartAsync(_s3, redirect: true, ct: ct);
        var docker = await _clients.NewClientAsync(ct);
        foreach (var replica in pair.Replicas)
        {
            (await docker.LoginAsync(replica.HostPort, replica.Admin, ct)).EnsureSuccess();
        }

        var repository = TestNames.Repository("redirect");
        var image = TestImages.Create(layerCount: 3);
        await _clients.LoadAsync(docker, image, $"{pair.First.HostPort}/{repository}:v1", ct);
        await docker.PushAsync($"{pair.First.HostPort}/{repository}:v1", ct);
        await _clients.RemoveAllAsync(ct);
        var blobs = await ReplicaDockerClients.ManifestBlobsAsync(pair.Second, repository, ct);
        var before = _s3.Output.Length;

        var pulled = $"{pair.Second.HostPort}/{repository}:v1";
        _clients.Track(pulled);
        await docker.PullAsync(pulled, ct);

        Assert.Equal(image.Config.Digest, await docker.ImageIdAsync(pulled, ct));
        var log = _s3.Output[before..];
        output.WriteLine(log);
        foreach (var digest in blobs)
        {
            // Only a presigned URL carries the signature in the query: the registry signs its own requests in a header.
            Assert.Matches($"blobs/sha256/{digest[7..9]}/{digest[7..]}\\?[^ ]*X-Amz-Signature=[^ ]* 200 ", log);
        }

        using var http = new ReplicaHttp(pair.Second, await ReplicaHttp.TokenAsync(pair.Second, repository, ct));
        using var response = await http.SendAsync(HttpMethod.Get, $"/v2/{repository}/blobs/{blobs[1]}", ct: ct);
        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        Assert.Equal(_s3.Endpoint.Authority, response.Headers.Location!.Authority);
        Assert.Equal(0, response.Content.Headers.ContentLength ?? 0);
        Assert.Empty(pair.LocalBlobFiles());
    }
}
