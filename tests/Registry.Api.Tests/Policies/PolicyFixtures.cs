using System.Net;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using Registry.Testing;

namespace Registry.Api.Tests.Policies;

/// <summary>The registry on PostgreSQL, for the policy tests that run on both providers.</summary>
public sealed class PostgresRegistry : IAsyncLifetime
{
    private RegistryFactory? _factory;

    public RegistryFactory Factory => _factory ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        var server = await PostgresServer.GetAsync();
        _factory = RegistryFactory.WithSettings(new Dictionary<string, string?>
        {
            ["Registry:Database:Provider"] = "Postgres",
            ["Registry:Database:ConnectionString"] = await server.CreateDatabaseAsync(),
        });
    }

    public async Task DisposeAsync()
    {
        if (_factory is not null)
        {
            await _factory.DisposeAsync();
        }
    }
}

/// <summary>Pushes through /v2 and reads of the policy endpoints that the policy tests share.</summary>
internal static class PolicyHttp
{
    /// <summary>Pushes the blobs and an OCI image manifest of them; returns the manifest without putting it.</summary>
    public static async Task<TestManifest> PrepareImageAsync(this HttpClient client, string repository, params TestBlob[] layers)
    {
        var config = TestBlob.Config();
        await client.PushBlobsAsync(repository, [config, .. layers]);
        return Manifests.OciImage(config, layers);
    }

    public static async Task<TestManifest> PushImageAsync(this HttpClient client, string repository, string tag, params TestBlob[] layers)
    {
        var manifest = await client.PrepareImageAsync(repository, layers);
        await client.PushManifestAsync(repository, tag, manifest);
        return manifest;
    }

    /// <summary>Checks the REST API's error body: its code, and that its message contains <paramref name="message"/>.</summary>
    public static async Task AssertApiErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code, string message)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("errors")[0];
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    /// <summary>What the image adds to a namespace that holds none of it: config, layers and the manifest.</summary>
    public static long SizeOf(TestManifest manifest, TestBlob config, params TestBlob[] layers) =>
        manifest.Size + config.Size + layers.Sum(l => l.Size);
}
