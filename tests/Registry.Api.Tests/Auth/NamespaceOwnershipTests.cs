using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// Who owns a namespace is decided explicitly: creating an account never hands over repositories that are already in
/// its namespace, and deleting a user decides about its repositories, so nobody inherits them by taking the name later.
/// </summary>
public sealed class NamespaceOwnershipTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    [Fact]
    public async Task ASignedInUserCannotTakeANamespaceOfTheAdministrators()
    {
        var team = RegistryAccounts.UniqueName("team");
        using (var admin = registry.CreateRegistryClient())
        {
            await admin.PushImageAsync($"{team}/app", "v1");
        }

        var bob = await registry.NewUserAsync();
        using var bobApi = registry.CreateApiClient(bob.Name, bob.Password);
        using var create = await bobApi.PostAsJsonAsync("/api/v1/orgs", new { name = team });
        using var adopt = await bobApi.PostAsJsonAsync("/api/v1/orgs", new { name = team, adoptRepositories = true });
        using var bobRegistry = registry.CreateClientFor(bob.Name, bob.Password);
        using var pull = await bobRegistry.GetAsync($"/v2/{team}/app/manifests/v1");
        using var push = await bobRegistry.SendAsync(HttpMethod.Post, $"/v2/{team}/app/blobs/uploads/");

        Assert.Equal(HttpStatusCode.Conflict, create.StatusCode);
        Assert.Contains("holds repositories", await create.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, adopt.StatusCode);
        await AssertErrorAsync(pull, HttpStatusCode.Forbidden, "DENIED");
        await AssertErrorAsync(push, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task AnAdministratorCreatesAUserOverAnOccupiedNamespaceOnlyByAdoptingIt()
    {
        var name = RegistryAccounts.UniqueName("ghost");
        using (var admin = registry.CreateRegistryClient())
        {
            await admin.PushImageAsync($"{name}/app", "v1");
        }

        using var api = registry.CreateAdminApiClient();
        using var refused = await api.PostAsJsonAsync("/api/v1/users", new { username = name, password = "a-long-password" });
        using var adopted = await api.PostAsJsonAsync("/api/v1/users", new { username = name, password = "a-long-password", adoptRepositories = true });
        using var client = registry.CreateClientFor(name, "a-long-password");
        using var pull = await client.GetAsync($"/v2/{name}/app/manifests/v1");
        var audit = await AuditAsync("user.create", name);

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal(HttpStatusCode.Created, adopted.StatusCode);
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        Assert.Contains("adopted", audit.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AUserWithRepositoriesIsNotDeletedWithoutADecisionAboutThem()
    {
        var alice = await registry.NewUserAsync();
        using (var client = registry.CreateClientFor(alice.Name, alice.Password))
        {
            await client.PushImageAsync($"{alice.Name}/app", "v1");
        }

        using var api = registry.CreateAdminApiClient();
        using var refused = await api.DeleteAsync($"/api/v1/users/{alice.Name}");
        using var invalid = await api.DeleteAsync($"/api/v1/users/{alice.Name}?repositories=keep");
        using var noTarget = await api.DeleteAsync($"/api/v1/users/{alice.Name}?repositories=transfer");
        using var stillThere = await api.GetAsync($"/api/v1/users/{alice.Name}");

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("repositories=delete", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, noTarget.StatusCode);
        Assert.Equal(HttpStatusCode.OK, stillThere.StatusCode);
    }

    [Fact]
    public async Task ADeletedUsersNameCannotBeReclaimedIntoItsRepositories()
    {
        var alice = await registry.NewUserAsync();
        using (var client = registry.CreateClientFor(alice.Name, alice.Password))
        {
            await client.PushImageAsync($"{alice.Name}/secret", "v1");
        }

        using var api = registry.CreateAdminApiClient();
        using var deleted = await api.DeleteAsync($"/api/v1/users/{alice.Name}?repositories=delete");
        var answer = await ReadJsonAsync(deleted);

        // Someone else takes the name.
        using var recreated = await api.PostAsJsonAsync("/api/v1/users", new { username = alice.Name, password = "another-password" });
        using var newcomer = registry.CreateClientFor(alice.Name, "another-password");
        using var pull = await newcomer.GetAsync($"/v2/{alice.Name}/secret/manifests/v1");
        using var tags = await newcomer.GetAsync($"/v2/{alice.Name}/secret/tags/list");

        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.Equal([$"{alice.Name}/secret"], answer.RootElement.GetProperty("repositoriesDeleted").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(HttpStatusCode.Created, recreated.StatusCode);
        await AssertErrorAsync(pull, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await AssertErrorAsync(tags, HttpStatusCode.NotFound, "NAME_UNKNOWN");
        Assert.Equal("with user " + alice.Name, (await AuditAsync("repository.delete", $"{alice.Name}/secret")).GetProperty("detail").GetString());
        Assert.Equal("1 repositories deleted", (await AuditAsync("user.delete", alice.Name)).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task TransferredRepositoriesMoveToTheNewOwnerWithTheirTags()
    {
        var owner = await registry.NewUserAsync();
        var org = await registry.NewOrganizationAsync(owner);
        var alice = await registry.NewUserAsync();
        TestManifest pushed;
        string upload;
        using (var client = registry.CreateClientFor(alice.Name, alice.Password))
        {
            pushed = await client.PushImageAsync($"{alice.Name}/tools/app", "v1");
            upload = await client.StartUploadAsync($"{alice.Name}/tools/app");
        }

        using var api = registry.CreateAdminApiClient();
        using var deleted = await api.DeleteAsync($"/api/v1/users/{alice.Name}?repositories=transfer&to={org}");
        var answer = await ReadJsonAsync(deleted);
        using var recreated = await api.PostAsJsonAsync("/api/v1/users", new { username = alice.Name, password = "another-password" });
        using var newcomer = registry.CreateClientFor(alice.Name, "another-password");
        using var oldName = await newcomer.GetAsync($"/v2/{alice.Name}/tools/app/manifests/v1");
        using var orgOwner = registry.CreateClientFor(owner.Name, owner.Password);
        using var newName = await orgOwner.GetAsync($"/v2/{org}/tools/app/manifests/v1");
        using var oldUpload = await newcomer.GetAsync(upload);

        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        var move = Assert.Single(answer.RootElement.GetProperty("repositoriesTransferred").EnumerateArray());
        Assert.Equal($"{alice.Name}/tools/app", move.GetProperty("from").GetString());
        Assert.Equal($"{org}/tools/app", move.GetProperty("to").GetString());
        Assert.Equal(HttpStatusCode.Created, recreated.StatusCode);
        await AssertErrorAsync(oldName, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        Assert.Equal(HttpStatusCode.OK, newName.StatusCode);
        await AssertErrorAsync(oldUpload, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        Assert.Equal(pushed.Digest, Header(newName, "Docker-Content-Digest"));
        Assert.Equal($"to {org}/tools/app", (await AuditAsync("repository.transfer", $"{alice.Name}/tools/app")).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task ATransferThatWouldOverwriteARepositoryMovesNothing()
    {
        var owner = await registry.NewUserAsync();
        var org = await registry.NewOrganizationAsync(owner);
        var alice = await registry.NewUserAsync();
        using (var client = registry.CreateClientFor(alice.Name, alice.Password))
        {
            await client.PushImageAsync($"{alice.Name}/app", "v1");
            await client.PushImageAsync($"{alice.Name}/other", "v1");
        }

        using (var client = registry.CreateClientFor(owner.Name, owner.Password))
        {
            await client.PushImageAsync($"{org}/app", "v1");
        }

        using var api = registry.CreateAdminApiClient();
        using var refused = await api.DeleteAsync($"/api/v1/users/{alice.Name}?repositories=transfer&to={org}");
        using var unknownTarget = await api.DeleteAsync($"/api/v1/users/{alice.Name}?repositories=transfer&to=nobody-{Guid.NewGuid():N}");
        using var aliceClient = registry.CreateClientFor(alice.Name, alice.Password);
        using var stillHers = await aliceClient.GetAsync($"/v2/{alice.Name}/other/manifests/v1");
        using var orgClient = registry.CreateClientFor(owner.Name, owner.Password);
        using var notMoved = await orgClient.GetAsync($"/v2/{org}/other/manifests/v1");

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains($"{org}/app", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknownTarget.StatusCode);
        Assert.Equal(HttpStatusCode.OK, stillHers.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, notMoved.StatusCode);
    }

    [Fact]
    public async Task OnlyAdministratorsDeleteUsers()
    {
        var alice = await registry.NewUserAsync();
        var bob = await registry.NewUserAsync();
        using var bobApi = registry.CreateApiClient(bob.Name, bob.Password);

        using var refused = await bobApi.DeleteAsync($"/api/v1/users/{alice.Name}?repositories=delete");

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
    }

    private async Task<JsonElement> AuditAsync(string action, string target)
    {
        using var api = registry.CreateAdminApiClient();
        var entries = await api.GetFromJsonAsync<JsonElement>($"/api/v1/audit?action={action}&limit=500");
        return entries.EnumerateArray().First(e => e.GetProperty("target").GetString() == target);
    }
}
