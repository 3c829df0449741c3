using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>A registry configured with Registry:Storage:DeleteEnabled=false.</summary>
public sealed class DeleteDisabledTests(DeleteDisabledTests.Registry registry) : IClassFixture<DeleteDisabledTests.Registry>
{
    private readonly HttpClient _client = registry.Factory.CreateRegistryClient();

    [Fact]
    public async Task ManifestDeleteByDigestIs405Unsupported()
    {
        var repository = Names.Unique("nodelete");
        var manifest = await _client.PushImageAsync(repository, "v1");

        using var response = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/manifests/{manifest.Digest}");

        await AssertErrorAsync(response, HttpStatusCode.MethodNotAllowed, "UNSUPPORTED");
    }

    [Fact]
    public async Task TagDeleteIs405AndTagStays()
    {
        var repository = Names.Unique("nodelete");
        await _client.PushImageAsync(repository, "v1");

        using var response = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/manifests/v1");
        using var get = await _client.GetAsync($"/v2/{repository}/manifests/v1");

        await AssertErrorAsync(response, HttpStatusCode.MethodNotAllowed, "UNSUPPORTED");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
    }

    [Fact]
    public async Task BlobDeleteIs405AndBlobStays()
    {
        var repository = Names.Unique("nodelete");
        var blob = TestBlob.Random(10);
        await _client.PushBlobAsync(repository, blob);

        using var response = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/blobs/{blob.Digest}");
        using var get = await _client.GetAsync($"/v2/{repository}/blobs/{blob.Digest}");

        await AssertErrorAsync(response, HttpStatusCode.MethodNotAllowed, "UNSUPPORTED");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
    }

    [Fact]
    public async Task UploadCancelStillWorks()
    {
        var location = await _client.StartUploadAsync(Names.Unique("nodelete"));

        using var response = await _client.SendAsync(HttpMethod.Delete, location);

        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
    }

    /// <summary>The fixture: one registry with deletes disabled for the whole class.</summary>
    public sealed class Registry : IAsyncLifetime
    {
        public RegistryFactory Factory { get; } = RegistryFactory.WithSettings(new Dictionary<string, string?> { ["Registry:Storage:DeleteEnabled"] = "false" });

        public Task InitializeAsync() => Task.CompletedTask;

        // xunit 2 disposes class fixtures through IDisposable or IAsyncLifetime only.
        public Task DisposeAsync() => Factory.DisposeAsync().AsTask();
    }
}
