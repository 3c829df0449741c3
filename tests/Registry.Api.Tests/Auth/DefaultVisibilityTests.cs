using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>Registry:Storage:DefaultVisibility=Public: repositories created by a push are public.</summary>
public sealed class DefaultVisibilityTests
{
    [Fact]
    public async Task PushedRepositoryIsPublicWhenThatIsTheDefault()
    {
        await using var registry = RegistryFactory.WithSettings(new Dictionary<string, string?> { ["Registry:Storage:DefaultVisibility"] = "Public" });
        var owner = await registry.NewUserAsync();
        var reader = await registry.NewUserAsync();
        using (var pusher = registry.CreateClientFor(owner.Name, owner.Password))
        {
            await pusher.PushImageAsync($"{owner.Name}/app", "v1");
        }

        using var client = registry.CreateClientFor(reader.Name, reader.Password);
        using var pull = await client.GetAsync($"/v2/{owner.Name}/app/manifests/v1");
        using var push = await client.SendAsync(HttpMethod.Post, $"/v2/{owner.Name}/app/blobs/uploads/");

        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        await AssertErrorAsync(push, HttpStatusCode.Forbidden, "DENIED");
    }
}
