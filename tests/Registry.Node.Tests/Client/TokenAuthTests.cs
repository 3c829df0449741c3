using Registry.Node.Client;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Client;

/// <summary>
/// The client's Bearer token flow against our registry's token server: a personal access token as
/// the password, a refresh token as the identity token (what docker login stores), and the
/// refusals a user must be able to act on.
/// </summary>
public sealed class TokenAuthTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>
{
    private string Host => fixture.Registry.HostPort;

    [Fact]
    public async Task A_personal_access_token_as_the_password_resolves_a_private_image()
    {
        var (user, api) = await fixture.CreateUserAsync();
        using var _ = api;
        var token = await api.CreateTokenAsync("node-read", "read");
        var (image, reference) = await PushPrivateAsync(user.Username);

        using var client = new RegistryClient(Host, new RegistryClientOptions { Credential = new RegistryCredential(user.Username, token.Token) });
        var resolved = await client.ResolveAsync(reference);

        Assert.Equal(image.OciManifest.Digest, resolved.Manifest.Digest.ToString());
    }

    [Fact]
    public async Task A_refresh_token_as_the_identity_token_resolves_a_private_image()
    {
        var (image, reference) = await PushPrivateAsync("node-tests");
        var refreshToken = await fixture.RefreshTokenAsync(fixture.Registry.Admin);

        using var client = new RegistryClient(
            Host, new RegistryClientOptions { Credential = new RegistryCredential(RegistryProcess.AdminUsername, null, refreshToken) });
        var resolved = await client.ResolveAsync(reference);

        Assert.Equal(image.OciManifest.Digest, resolved.Manifest.Digest.ToString());
    }

    [Fact]
    public async Task A_wrong_refresh_token_is_refused_with_the_servers_reason()
    {
        var (_, reference) = await PushPrivateAsync("node-tests");

        using var client = new RegistryClient(
            Host, new RegistryClientOptions { Credential = new RegistryCredential(RegistryProcess.AdminUsername, null, "regrt_not-a-refresh-token") });
        var error = await Assert.ThrowsAsync<RegistryUnauthorizedException>(() => client.ResolveAsync(reference));

        Assert.StartsWith($"the token server of {Host} refused the credentials of admin: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_credentials_the_token_server_refuses_anonymous_access()
    {
        var (_, reference) = await PushPrivateAsync("node-tests");
        using var client = new RegistryClient(Host);

        var error = await Assert.ThrowsAsync<RegistryUnauthorizedException>(() => client.ResolveAsync(reference));

        Assert.Contains($"the token server of {Host} refused anonymous access to {reference.Repository}", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_inactive_token_is_refused_with_the_servers_reason()
    {
        var (user, api) = await fixture.CreateUserAsync();
        using var _ = api;
        var token = await api.CreateTokenAsync("node-inactive", "read");
        await api.SetTokenActiveAsync(token.Id, active: false);
        var (_, reference) = await PushPrivateAsync(user.Username);

        using var client = new RegistryClient(Host, new RegistryClientOptions { Credential = new RegistryCredential(user.Username, token.Token) });
        var error = await Assert.ThrowsAsync<RegistryUnauthorizedException>(() => client.ResolveAsync(reference));

        Assert.Contains($"refused the credentials of {user.Username}: ", error.Message, StringComparison.Ordinal);
        Assert.Contains("token is inactive", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Another_users_private_image_is_refused()
    {
        var (owner, ownerApi) = await fixture.CreateUserAsync();
        var (other, otherApi) = await fixture.CreateUserAsync();
        ownerApi.Dispose();
        otherApi.Dispose();
        var (_, reference) = await PushPrivateAsync(owner.Username);

        using var client = new RegistryClient(Host, new RegistryClientOptions { Credential = new RegistryCredential(other.Username, other.Password) });
        var error = await Assert.ThrowsAsync<RegistryUnauthorizedException>(() => client.ResolveAsync(reference));

        Assert.Contains(reference.Repository, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_given_bearer_token_is_sent_as_it_is_and_only_for_what_it_grants()
    {
        var (image, reference) = await PushPrivateAsync("node-tests");
        var (_, other) = await PushPrivateAsync("node-tests");
        var token = await PullTokenAsync(reference.Repository);

        using var client = new RegistryClient(Host, new RegistryClientOptions { BearerToken = token });
        var resolved = await client.ResolveAsync(reference);
        var error = await Assert.ThrowsAsync<RegistryUnauthorizedException>(() => client.ResolveAsync(other));

        Assert.Equal(image.OciManifest.Digest, resolved.Manifest.Digest.ToString());
        Assert.Contains($"{Host} refused the given bearer token for {other.Repository}", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, error.Message + client.Options, StringComparison.Ordinal);
    }

    /// <summary>A registry token granting pull on <paramref name="repository"/> only, as the registry hands to a node.</summary>
    private async Task<string> PullTokenAsync(string repository)
    {
        using var http = new HttpClient { BaseAddress = fixture.Registry.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/auth/token?service=registry&scope=repository:{repository}:pull");
        request.Headers.Authorization = fixture.Registry.Admin.BasicHeader();
        using var response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("token").GetString()!;
    }

    /// <summary>A new image pushed by admin into <c>NAMESPACE/app</c>, private as every pushed repository by default.</summary>
    private async Task<(TestImage Image, ImageReference Reference)> PushPrivateAsync(string @namespace)
    {
        var image = TestImages.Create(layerCount: 1);
        var repository = $"{@namespace}/app-{Guid.NewGuid():N}";
        using (var push = new DistributionPush(fixture.Registry))
        {
            await push.PushImageAsync(repository, "v1", image);
        }

        return (image, ImageReference.Parse($"{Host}/{repository}:v1"));
    }

}
