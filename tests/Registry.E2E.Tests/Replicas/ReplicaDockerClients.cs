using System.Net;
using System.Text.Json;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.E2E.Tests.Replicas;

/// <summary>
/// Docker clients for replica tests: each has its own configuration directory (its own logins); the images they load
/// are removed again by <see cref="RemoveAllAsync"/>, the engine being shared.
/// </summary>
internal sealed class ReplicaDockerClients : IDisposable
{
    private readonly TemporaryDirectory _directory = new("e2e-replicas");
    private readonly List<string> _references = [];
    private int _clients;

    public async Task<DockerCli> NewClientAsync(CancellationToken ct)
    {
        var docker = DockerCli.Default.WithConfigDirectory(_directory.Combine($"docker-config-{Interlocked.Increment(ref _clients)}"));
        await docker.EnsureAvailableAsync(ct);
        return docker;
    }

    /// <summary>Loads <paramref name="image"/> into the engine, tagged <paramref name="remote"/>.</summary>
    public async Task LoadAsync(DockerCli docker, TestImage image, string remote, CancellationToken ct)
    {
        var local = $"registry-e2e/{image.Marker}:v1";
        var archive = _directory.Combine(image.Marker + ".tar");
        await image.WriteDockerArchiveAsync(archive, local, ct);
        lock (_references)
        {
            _references.Add(local);
            _references.Add(remote);
        }

        await docker.LoadAsync(archive, ct);
        await docker.TagAsync(local, remote, ct);
    }

    /// <summary>Notes a reference a pull will create, so that it is removed at the end.</summary>
    public void Track(string reference)
    {
        lock (_references)
        {
            _references.Add(reference);
        }
    }

    /// <summary>Removes every tag this test made, so that the next pull downloads the layers again.</summary>
    public async Task RemoveAllAsync(CancellationToken ct)
    {
        List<string> references;
        lock (_references)
        {
            references = [.. _references];
        }

        foreach (var reference in references)
        {
            await DockerCli.Default.RemoveImageAsync(reference, force: true, ct);
        }
    }

    /// <summary>The digests of the config and layers of the manifest <paramref name="repository"/>:v1, as the registry holds it.</summary>
    public static async Task<IReadOnlyList<string>> ManifestBlobsAsync(RegistryProcess replica, string repository, CancellationToken ct)
    {
        using var http = new ReplicaHttp(replica, await ReplicaHttp.TokenAsync(replica, repository, ct));
        using var response = await http.SendAsync(HttpMethod.Get, $"/v2/{repository}/manifests/v1", ct: ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var manifest = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        return manifest.RootElement.GetProperty("layers").EnumerateArray()
            .Select(l => l.GetProperty("digest").GetString()!)
            .Prepend(manifest.RootElement.GetProperty("config").GetProperty("digest").GetString()!)
            .ToList();
    }

    public void Dispose() => _directory.Dispose();
}
