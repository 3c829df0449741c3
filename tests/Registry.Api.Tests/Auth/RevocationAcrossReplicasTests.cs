using System.Diagnostics;
using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// Two replicas share only the metadata store (here one SQLite database). An access token deleted through one stops
/// the registry tokens obtained with it on the other within Registry:Auth:PermissionCacheDuration (one second here).
/// </summary>
public sealed class RevocationAcrossReplicasTests : IAsyncLifetime
{
    private static readonly Dictionary<string, string?> Settings = new() { ["Registry:Auth:PermissionCacheDuration"] = "00:00:01" };

    private readonly RegistryFactory _first = RegistryFactory.WithSettings(Settings);
    private RegistryFactory? _second;

    public Task InitializeAsync()
    {
        // The first replica starts first and creates the database; the second opens it.
        _ = _first.Services;
        _second = RegistryFactory.OnExistingDirectory(_first.DataDirectory, _first.AdminPassword, Settings);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_second is not null)
        {
            await _second.DisposeAsync();
        }

        await _first.DisposeAsync();
    }

    [Fact]
    public async Task AccessTokenDeletedOnOneReplicaStopsItsRegistryTokensOnTheOther()
    {
        var alice = await _first.NewUserAsync();
        var repository = $"{alice.Name}/app";
        using (var owner = _first.CreateClientFor(alice.Name, alice.Password))
        {
            await owner.PushImageAsync(repository, "v1");
        }

        var created = await _first.NewPersonalTokenAsync(alice, new { name = "ci", scope = "read" });
        using var client = _second!.CreatePlainClient();
        var token = await client.TokenAsync(alice.Name, created.GetProperty("token").GetString(), $"repository:{repository}:pull");
        using var before = await client.SendWithTokenAsync(HttpMethod.Get, $"/v2/{repository}/manifests/v1", token);

        using (var api = _first.CreateApiClient(alice.Name, alice.Password))
        using (var delete = await api.DeleteAsync($"/api/v1/tokens/{created.GetProperty("id")}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        var clock = Stopwatch.StartNew();
        HttpStatusCode status;
        do
        {
            using var after = await client.SendWithTokenAsync(HttpMethod.Get, $"/v2/{repository}/manifests/v1", token);
            status = after.StatusCode;
            if (status == HttpStatusCode.OK)
            {
                await Task.Delay(100);
            }
        }
        while (status == HttpStatusCode.OK && clock.Elapsed < TimeSpan.FromSeconds(10));

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"the second replica refused the token after {clock.Elapsed}");
    }
}
