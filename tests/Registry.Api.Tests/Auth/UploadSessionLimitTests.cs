using System.Net;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Registry.Api.Tests.Infrastructure;
using Registry.Storage.Metadata;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// A user has at most Registry:Auth:MaxUploadSessionsPerUser open upload sessions (three here); starting one more is
/// refused with 429 TOOMANYREQUESTS and creates nothing, until one of them ends.
/// </summary>
public sealed class UploadSessionLimitTests(UploadSessionLimitTests.Registry fixture) : IClassFixture<UploadSessionLimitTests.Registry>
{
    private const int Limit = 3;

    private readonly RegistryFactory _registry = fixture.Factory;
    private readonly HttpClient _client = fixture.Factory.CreatePlainClient();

    [Fact]
    public async Task SessionsBeyondTheLimitAreRefusedAndCreateNothing()
    {
        var alice = await _registry.NewUserAsync();
        var token = await _client.TokenAsync(alice.Name, alice.Password, $"repository:{alice.Name}/app:pull,push");
        for (var i = 0; i < Limit; i++)
        {
            using var start = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{alice.Name}/app/blobs/uploads/", token);
            Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        }

        using var refused = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{alice.Name}/app/blobs/uploads/", token);

        await AssertErrorMessageAsync(refused, HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS", "upload sessions");
        Assert.Equal(Limit, await OpenSessionsAsync(alice.Name));
    }

    [Fact]
    public async Task EndingASessionMakesRoomForAnother()
    {
        var alice = await _registry.NewUserAsync();
        var token = await _client.TokenAsync(alice.Name, alice.Password, $"repository:{alice.Name}/app:pull,push");
        var sessions = new List<string>();
        for (var i = 0; i < Limit; i++)
        {
            using var start = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{alice.Name}/app/blobs/uploads/", token);
            sessions.Add(Location(start));
        }

        var blob = TestBlob.Random(500);
        using var finished = await _client.SendWithTokenAsync(HttpMethod.Put, WithDigest(sessions[0], blob.Digest), token, blob.Content);
        using var cancelled = await _client.SendWithTokenAsync(HttpMethod.Delete, sessions[1], token);
        using var second = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{alice.Name}/app/blobs/uploads/", token);
        using var third = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{alice.Name}/app/blobs/uploads/", token);

        Assert.Equal(HttpStatusCode.Created, finished.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, cancelled.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, third.StatusCode);
    }

    [Fact]
    public async Task OneUsersSessionsLeaveOthersAlone()
    {
        var alice = await _registry.NewUserAsync();
        var bob = await _registry.NewUserAsync();
        var aliceToken = await _client.TokenAsync(alice.Name, alice.Password, $"repository:{alice.Name}/app:pull,push");
        var bobToken = await _client.TokenAsync(bob.Name, bob.Password, $"repository:{bob.Name}/app:pull,push");
        for (var i = 0; i < Limit; i++)
        {
            using var start = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{alice.Name}/app/blobs/uploads/", aliceToken);
        }

        using var bobs = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{bob.Name}/app/blobs/uploads/", bobToken);

        Assert.Equal(HttpStatusCode.Accepted, bobs.StatusCode);
    }

    private async Task<int> OpenSessionsAsync(string owner)
    {
        await using var scope = _registry.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<RegistryDbContext>().Uploads.CountAsync(u => u.Owner == owner);
    }

    /// <summary>The fixture: a registry that allows three open upload sessions per user.</summary>
    public sealed class Registry : IAsyncLifetime
    {
        public RegistryFactory Factory { get; } = RegistryFactory.WithSettings(new Dictionary<string, string?>
        {
            ["Registry:Auth:MaxUploadSessionsPerUser"] = Limit.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });

        public Task InitializeAsync() => Task.CompletedTask;

        public Task DisposeAsync() => Factory.DisposeAsync().AsTask();
    }
}
