using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using Registry.Testing;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// Accounts, roles, tokens, throttling and the audit log on PostgreSQL, the production metadata store: the
/// same flows the SQLite-backed tests check, so every identity query runs on both providers.
/// </summary>
public sealed class PostgresIdentityTests(PostgresIdentityTests.Registry fixture) : IClassFixture<PostgresIdentityTests.Registry>
{
    private RegistryFactory Factory => fixture.Factory;

    [Fact]
    public async Task OrganizationRolesDecidePullAndPush()
    {
        var owner = await Factory.NewUserAsync();
        var member = await Factory.NewUserAsync();
        var maintainer = await Factory.NewUserAsync();
        var org = await Factory.NewOrganizationAsync(owner);
        await Factory.SetMemberAsync(owner, org, member.Name, "member");
        await Factory.SetMemberAsync(owner, org, maintainer.Name, "maintainer");
        using (var ownerClient = Factory.CreateClientFor(owner.Name, owner.Password))
        {
            await ownerClient.PushImageAsync($"{org}/app", "v1");
        }

        using var memberClient = Factory.CreateClientFor(member.Name, member.Password);
        using var maintainerClient = Factory.CreateClientFor(maintainer.Name, maintainer.Password);
        using var pull = await memberClient.GetAsync($"/v2/{org}/app/manifests/v1");
        using var refused = await memberClient.SendAsync(HttpMethod.Post, $"/v2/{org}/app/blobs/uploads/");

        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        await AssertErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED");
        await maintainerClient.PushImageAsync($"{org}/app", "v2");
    }

    [Fact]
    public async Task AccessTokensAreScopedSuspendedAndListedWithTheirLastUse()
    {
        var alice = await Factory.NewUserAsync();
        var created = await Factory.NewPersonalTokenAsync(alice, new { name = "ci", scope = "read" });
        var secret = created.GetProperty("token").GetString()!;
        using var plain = Factory.CreatePlainClient();

        var token = await plain.TokenAsync(alice.Name, secret, $"repository:{alice.Name}/app:pull,push");
        Assert.Equal(["pull"], ActionsOn(token, $"{alice.Name}/app"));

        using var api = Factory.CreateApiClient(alice.Name, alice.Password);
        using var listed = await api.GetFromJsonAsync<JsonDocument>("/api/v1/tokens");
        Assert.NotEqual(JsonValueKind.Null, listed!.RootElement[0].GetProperty("lastUsedAt").ValueKind);

        using var suspend = await api.PatchAsJsonAsync($"/api/v1/tokens/{created.GetProperty("id").GetInt64()}", new { active = false });
        using var refused = await plain.RequestTokenAsync(alice.Name, secret);
        Assert.Equal(HttpStatusCode.OK, suspend.StatusCode);
        await AssertErrorMessageAsync(refused, HttpStatusCode.Unauthorized, "UNAUTHORIZED", "the access token is inactive");
    }

    [Fact]
    public async Task RepositoriesAreListedAndSearchedByVisibility()
    {
        var alice = await Factory.NewUserAsync();
        var bob = await Factory.NewUserAsync();
        using (var client = Factory.CreateClientFor(alice.Name, alice.Password))
        {
            await client.PushImageAsync($"{alice.Name}/open", "v1");
            await client.PushImageAsync($"{alice.Name}/closed", "v1");
        }

        await Factory.SetVisibilityAsync(alice, $"{alice.Name}/open", "public");
        using var bobApi = Factory.CreateApiClient(bob.Name, bob.Password);
        using var page = await bobApi.GetFromJsonAsync<JsonDocument>($"/api/v1/repositories?q={alice.Name}");
        var names = page!.RootElement.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("name").GetString()).ToList();

        Assert.Equal([$"{alice.Name}/open"], names);
    }

    [Fact]
    public async Task FailedLoginsLockOutAndAreAudited()
    {
        var carol = await Factory.NewUserAsync();
        using var plain = Factory.CreatePlainClient();
        for (var i = 0; i < Registry.FailureLimit; i++)
        {
            using var wrong = await plain.RequestTokenAsync(carol.Name, "not-the-password");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using var locked = await plain.RequestTokenAsync(carol.Name, carol.Password);
        await AssertErrorAsync(locked, HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS");
        Assert.NotNull(locked.Headers.RetryAfter);

        using var admin = Factory.CreateAdminApiClient();
        using var audit = await admin.GetFromJsonAsync<JsonDocument>($"/api/v1/audit?actor={carol.Name}&action=login.failure");
        Assert.True(audit!.RootElement.GetArrayLength() >= Registry.FailureLimit);
    }

    [Fact]
    public async Task RefreshTokensFromALoginWorkByPost()
    {
        var dave = await Factory.NewUserAsync();
        using var plain = Factory.CreatePlainClient();
        using var login = await plain.RequestTokenWithQueryAsync(dave.Name, dave.Password, "service=registry&offline_token=true&client_id=docker");
        using var loginBody = JsonDocument.Parse(await login.Content.ReadAsStringAsync());
        var refresh = loginBody.RootElement.GetProperty("refresh_token").GetString()!;

        using var renewed = await plain.PostTokenAsync(
            ("grant_type", "refresh_token"), ("refresh_token", refresh), ("service", "registry"), ("scope", $"repository:{dave.Name}/app:pull"));
        using var renewedBody = JsonDocument.Parse(await renewed.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, renewed.StatusCode);
        Assert.Equal(["pull"], ActionsOn(renewedBody.RootElement.GetProperty("access_token").GetString()!, $"{dave.Name}/app"));
    }

    public sealed class Registry : IAsyncLifetime
    {
        public const int FailureLimit = 3;

        private RegistryFactory? _factory;

        public RegistryFactory Factory => _factory ?? throw new InvalidOperationException("not started");

        public async Task InitializeAsync()
        {
            var server = await PostgresServer.GetAsync();
            _factory = RegistryFactory.WithSettings(new Dictionary<string, string?>
            {
                ["Registry:Database:Provider"] = "Postgres",
                ["Registry:Database:ConnectionString"] = await server.CreateDatabaseAsync(),
                ["Registry:Auth:LoginFailureLimit"] = FailureLimit.ToString(System.Globalization.CultureInfo.InvariantCulture),
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
}
