using System.Net;
using Registry.Api.Tests.Infrastructure;
using Registry.Testing;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Observability;

/// <summary>/metrics counts the requests of a push by route template and status, and the blob bytes in and out.</summary>
public sealed class PushMetricsTests
{
    private const string Requests = "registry_http_requests_total";
    private const string UploadStartRoute = "/v2/{name}/blobs/uploads/";
    private const string UploadRoute = "/v2/{name}/blobs/uploads/{uuid}";
    private const string ManifestRoute = "/v2/{name}/manifests/{reference}";

    [Fact]
    public async Task APushIsCountedByRouteAndStatusWithItsBytes()
    {
        await using var registry = await RegistryProcess.StartAsync();
        using var client = RegistryAuthHandler.CreateClient(registry);
        using var scraper = ObservedRegistry.PlainClient(registry);
        var repository = Names.Unique("metrics");
        var config = TestBlob.Config();
        var layers = new[] { TestBlob.Random(300_000), TestBlob.Random(70_000) };
        var before = await MetricsScrape.ReadAsync(scraper);

        // As docker pushes: a session per blob, one PATCH with the bytes, a PUT with the digest; then the manifest.
        foreach (var blob in layers.Prepend(config))
        {
            var location = await client.StartUploadAsync(repository);
            using var patch = await client.PatchChunkAsync(location, blob.Content, start: null);
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
            using var put = await client.SendAsync(HttpMethod.Put, WithDigest(Location(patch), blob.Digest));
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        await client.PushManifestAsync(repository, "v1", Manifests.OciImage(config, layers));
        using var pulled = await client.GetAsync($"/v2/{repository}/blobs/{layers[0].Digest}");
        Assert.Equal(layers[0].Content, await pulled.Content.ReadAsByteArrayAsync());
        var after = await MetricsScrape.ReadAsync(scraper);

        double Delta(string name, params (string, string)[] labels) => after.Value(name, labels) - before.Value(name, labels);
        Assert.Equal(3, Delta(Requests, ("method", "POST"), ("route", UploadStartRoute), ("code", "202")));
        Assert.Equal(3, Delta(Requests, ("method", "PATCH"), ("route", UploadRoute), ("code", "202")));
        Assert.Equal(3, Delta(Requests, ("method", "PUT"), ("route", UploadRoute), ("code", "201")));
        Assert.Equal(1, Delta(Requests, ("method", "PUT"), ("route", ManifestRoute), ("code", "201")));
        Assert.Equal(3, Delta("registry_http_request_duration_seconds_count", ("method", "PATCH"), ("route", UploadRoute)));
        var pushed = layers.Append(config).Sum(b => b.Size);
        Assert.True(Delta("registry_blob_bytes_received_total") >= pushed, $"received {Delta("registry_blob_bytes_received_total")} of {pushed} bytes");
        Assert.Equal(layers[0].Size, Delta("registry_blob_bytes_sent_total"));
        Assert.Equal(3, Delta("registry_upload_chunk_duration_seconds_count"));
        Assert.Equal(3, Delta("registry_upload_commit_duration_seconds_count"));

        // Labels carry templates only: the repository and the digests never become series.
        Assert.DoesNotContain(repository, after.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(config.Digest, after.Text, StringComparison.Ordinal);
    }
}
