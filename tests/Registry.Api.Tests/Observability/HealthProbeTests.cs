using System.Net;
using System.Text.Json;
using Registry.Testing;

namespace Registry.Api.Tests.Observability;

/// <summary>/healthz and /readyz of a real registry process on SQLite and the filesystem, without credentials.</summary>
public sealed class HealthProbeTests
{
    [Fact]
    public async Task LivenessAndReadinessAnswer200WithoutCredentials()
    {
        await using var registry = await RegistryProcess.StartAsync();
        using var client = ObservedRegistry.PlainClient(registry);

        using var live = await client.GetAsync("/healthz");
        using var ready = await client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("Healthy", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("database").GetString());
        Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("blobStore").GetString());
        Assert.Equal("no-store", ready.Headers.CacheControl?.ToString());
    }

    [Fact]
    public async Task ReadinessTurns503WhenTheBlobDirectoryCannotBeWritten()
    {
        await using var registry = await RegistryProcess.StartAsync();
        using var client = ObservedRegistry.PlainClient(registry);
        var blobs = Path.Combine(registry.DataDirectory, "blobs");
        var moved = blobs + ".away";

        Directory.Move(blobs, moved);
        using var missing = await client.GetAsync("/readyz");
        using var live = await client.GetAsync("/healthz");
        Directory.Move(moved, blobs);
        using var back = await client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, missing.StatusCode);
        var text = await missing.Content.ReadAsStringAsync();
        using var body = JsonDocument.Parse(text);
        Assert.Equal("Unhealthy", body.RootElement.GetProperty("checks").GetProperty("blobStore").GetString());
        Assert.Equal("Healthy", body.RootElement.GetProperty("checks").GetProperty("database").GetString());
        Assert.DoesNotContain(registry.DataDirectory, text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        Assert.Equal(HttpStatusCode.OK, back.StatusCode);
    }
}
