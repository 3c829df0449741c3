using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Gc;

/// <summary><c>POST /api/v1/admin/gc</c>: administrators only, a dry run that changes nothing, and the run's report.</summary>
public sealed class GcEndpointTests : IAsyncLifetime
{
    private readonly RegistryFactory _registry = RegistryFactory.WithSettings(new Dictionary<string, string?>
    {
        ["Registry:Gc:ReviewDelay"] = "00:00:00",
        ["Registry:Gc:UploadGrace"] = "00:00:00",
        ["Registry:Gc:Background"] = "false",
    });

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _registry.DisposeAsync();

    [Fact]
    public async Task OnlyAnAdministratorWithAFullCredentialMayRunIt()
    {
        var alice = await _registry.NewUserAsync("alice");
        var adminToken = await _registry.NewPersonalTokenAsync(new TestUser(RegistryFactory.Admin, _registry.AdminPassword), new { name = "ci", scope = "read-write" });
        using var anonymous = _registry.CreatePlainClient();
        using var user = _registry.CreateApiClient(alice.Name, alice.Password);
        using var limited = _registry.CreateApiClient(RegistryFactory.Admin, adminToken.GetProperty("token").GetString()!);

        using var noCredentials = await PostGcAsync(anonymous, "{\"dryRun\":true}");
        using var byUser = await PostGcAsync(user, "{\"dryRun\":false}");
        using var byLimitedToken = await PostGcAsync(limited, "{\"dryRun\":false}");

        Assert.Equal(HttpStatusCode.Unauthorized, noCredentials.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byUser.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, byLimitedToken.StatusCode);
    }

    [Fact]
    public async Task ADryRunReportsWhatTheRunThenRemovesAndAnEmptyBodyIsARealRun()
    {
        using var v2 = _registry.CreateRegistryClient();
        using var admin = _registry.CreateAdminApiClient();
        var repository = Names.Unique("gcapi");
        var manifest = await v2.PushImageAsync(repository, "v1");
        var layer = JsonDocument.Parse(manifest.Content).RootElement.GetProperty("layers")[0].GetProperty("digest").GetString();
        using (var deleted = await admin.DeleteAsync($"/api/v1/repositories/{repository}"))
        {
            Assert.True(deleted.IsSuccessStatusCode, $"repository delete answered {(int)deleted.StatusCode}");
        }

        using var dryResponse = await PostGcAsync(admin, "{\"dryRun\":true}");
        var dry = (await ReadJsonAsync(dryResponse)).RootElement;
        using var again = await PostGcAsync(admin, "{\"dryRun\":true}");
        using var realResponse = await PostGcAsync(admin, body: null);
        var real = (await ReadJsonAsync(realResponse)).RootElement;
        using var after = await PostGcAsync(admin, "{}");

        Assert.True(dry.GetProperty("dryRun").GetBoolean());
        Assert.Equal(2, dry.GetProperty("blobs").GetInt32());
        Assert.Equal(dry.GetProperty("blobs").GetInt32(), (await ReadJsonAsync(again)).RootElement.GetProperty("blobs").GetInt32());
        Assert.False(real.GetProperty("dryRun").GetBoolean());
        foreach (var field in new[] { "blobs", "manifests", "bytes", "links", "repositories", "orphanFiles" })
        {
            Assert.Equal(dry.GetProperty(field).GetInt64(), real.GetProperty(field).GetInt64());
        }

        Assert.Equal(0, (await ReadJsonAsync(after)).RootElement.GetProperty("blobs").GetInt32());
        Assert.False(File.Exists(Path.Combine(_registry.DataDirectory, "blobs", "sha256", layer![7..9], layer[7..])));
    }

    [Fact]
    public async Task ABodyThatIsNotTheRequestIsRefusedAndNothingRuns()
    {
        using var admin = _registry.CreateAdminApiClient();

        using var garbage = await PostGcAsync(admin, "{\"dryRun\":");
        using var wrongType = await PostGcAsync(admin, "{\"dryRun\":\"yes\"}");

        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, wrongType.StatusCode);
        Assert.Contains("error", await garbage.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<HttpResponseMessage> PostGcAsync(HttpClient client, string? body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/admin/gc");
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json"));
        }

        return await client.SendAsync(request);
    }
}
