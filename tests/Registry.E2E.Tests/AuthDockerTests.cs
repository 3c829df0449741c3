using Registry.Testing;
using Registry.Testing.Images;
using Xunit.Abstractions;

namespace Registry.E2E.Tests;

/// <summary>
/// docker login / push / pull / logout against our registry with authentication: passwords,
/// personal access tokens and their scopes, inactive and deleted tokens, public and private
/// repositories. Every docker command uses this test's own configuration directory.
/// </summary>
public sealed class AuthDockerTests(AuthFixture fixture, ITestOutputHelper output)
    : IClassFixture<AuthFixture>, IAsyncLifetime, IDisposable
{
    private readonly TemporaryDirectory _directory = new("e2e-auth-docker");
    private readonly List<string> _createdReferences = [];
    private DockerCli _docker = DockerCli.Default;

    private string Host => fixture.Host;

    public async Task InitializeAsync()
    {
        _docker = DockerCli.Default.WithConfigDirectory(_directory.Combine("docker-config"));
        await _docker.EnsureAvailableAsync();
    }

    public async Task DisposeAsync()
    {
        // Clean-up only: the engine is shared with other tests and other runs.
        foreach (var reference in Enumerable.Reverse(_createdReferences))
        {
            await _docker.RemoveImageAsync(reference, force: true);
        }
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Docker_login_as_admin_succeeds_and_stays_in_the_given_configuration()
    {
        using var timeout = TestNames.Timeout();

        var login = await _docker.LoginAsync(Host, fixture.Registry.Admin, timeout.Token);

        Assert.True(login.Succeeded, login.ToString());
        Assert.Contains("Login Succeeded", login.StandardOutput, StringComparison.Ordinal);
        Assert.Contains(Host, await File.ReadAllTextAsync(Path.Combine(_docker.ConfigDirectory!, "config.json")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Docker_login_with_a_wrong_password_is_unauthorized()
    {
        using var timeout = TestNames.Timeout();

        var login = await _docker.LoginAsync(Host, fixture.Registry.Admin with { Password = "not-the-password" }, timeout.Token);

        Show("docker login with a wrong password", login);
        Refusal.Assert(login, "unauthorized: invalid username or password");
    }

    [Fact]
    public async Task A_read_write_token_logs_in_pushes_into_the_users_namespace_and_pulls_back()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        using var user = await fixture.CreateUserAsync(ct);
        var token = await LogInWithNewTokenAsync(user, "read-write", ct);
        Assert.StartsWith("regpat_", token.Token, StringComparison.Ordinal);
        var remote = $"{Host}/{user.Name}/app:v1";

        var image = await PushNewImageAsync(remote, ct);

        await AssertPullsBackAsync(remote, image, ct);
    }

    [Fact]
    public async Task A_push_with_a_read_token_is_refused()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        using var user = await fixture.CreateUserAsync(ct);
        await LogInWithNewTokenAsync(user, "read", ct);
        var remote = $"{Host}/{user.Name}/app:v1";
        await LoadTaggedAsync(remote, ct);

        var push = await _docker.TryPushAsync(remote, ct);

        Show("docker push with a read token", push);
        Refusal.Assert(push, "denied: requested access to the resource is denied");
    }

    [Fact]
    public async Task Docker_login_with_an_inactive_token_fails()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        using var user = await fixture.CreateUserAsync(ct);
        var token = await user.CreateTokenAsync("read-write", ct);
        await user.Api.SetTokenActiveAsync(token.Id, active: false, ct);

        var login = await _docker.LoginAsync(Host, token.For(user.Name), ct);

        Show("docker login with an inactive token", login);
        Refusal.Assert(login, "token is inactive");
    }

    [Fact]
    public async Task Docker_login_with_a_deleted_token_fails()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        using var user = await fixture.CreateUserAsync(ct);
        var token = await LogInWithNewTokenAsync(user, "read-write", ct);
        await user.Api.DeleteTokenAsync(token.Id, ct);

        var login = await _docker.LoginAsync(Host, token.For(user.Name), ct);

        Show("docker login with a deleted token", login);
        Refusal.Assert(login, "unauthorized: invalid username or password");
    }

    [Fact]
    public async Task A_token_logs_in_and_pushes_while_wrong_passwords_lock_its_users_password_out()
    {
        // Someone guesses the user's password from the machine its CI runs on: the CI's token keeps working.
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        using var user = await fixture.CreateUserAsync(ct);
        var token = await user.CreateTokenAsync("read-write", ct);
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var wrong = await _docker.LoginAsync(Host, user.Credentials with { Password = $"guess-{attempt}" }, ct);
            Refusal.Assert(wrong, "invalid username or password");
        }

        var password = await _docker.LoginAsync(Host, user.Credentials, ct);
        var login = await _docker.LoginAsync(Host, token.For(user.Name), ct);

        Show("docker login with the right password, locked out", password);
        Refusal.Assert(password, "toomanyrequests");
        Assert.True(login.Succeeded, login.ToString());
        var remote = $"{Host}/{user.Name}/app:v1";
        var image = await PushNewImageAsync(remote, ct);
        await AssertPullsBackAsync(remote, image, ct);
    }

    [Fact]
    public async Task Logged_out_a_public_repository_can_be_pulled_anonymously()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        using var user = await fixture.CreateUserAsync(ct);
        await LogInWithNewTokenAsync(user, "read-write", ct);
        var repository = $"{user.Name}/public";
        var remote = $"{Host}/{repository}:v1";
        var image = await PushNewImageAsync(remote, ct);
        await user.Api.SetVisibilityAsync(repository, "public", ct);

        await _docker.LogoutAsync(Host, ct);

        await AssertPullsBackAsync(remote, image, ct);
    }

    [Fact]
    public async Task Logged_out_a_private_repository_cannot_be_pulled()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        await LogInAsync(fixture.Registry.Admin, ct);
        var remote = $"{Host}/{TestNames.Repository("private")}:v1";
        var image = await PushNewImageAsync(remote, ct);
        await AssertPullsBackAsync(remote, image, ct);
        await RemoveLocalAsync(remote, ct);

        await _docker.LogoutAsync(Host, ct);
        var pull = await _docker.TryPullAsync(remote, ct);

        Show("docker pull of a private repository, logged out", pull);
        Refusal.Assert(pull, "unauthorized: authentication required");
        Assert.False(await _docker.ImageExistsAsync(remote, ct));
    }

    [Fact]
    public async Task Logged_out_a_push_is_unauthorized()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var remote = $"{Host}/{TestNames.Repository("anonymous")}:v1";
        await LoadTaggedAsync(remote, ct);

        var push = await _docker.TryPushAsync(remote, ct);

        Show("docker push, logged out", push);
        Refusal.Assert(push, "unauthorized: authentication required");
    }

    [Fact]
    public async Task Another_user_cannot_pull_a_private_repository()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        using var owner = await fixture.CreateUserAsync(ct);
        using var other = await fixture.CreateUserAsync(ct);
        await LogInAsync(owner.Credentials, ct);
        var remote = $"{Host}/{owner.Name}/private:v1";
        await PushNewImageAsync(remote, ct);
        await RemoveLocalAsync(remote, ct);

        await LogInAsync(other.Credentials, ct);
        var pull = await _docker.TryPullAsync(remote, ct);

        Show("docker pull of another user's private repository", pull);
        Refusal.Assert(pull, "denied: requested access to the resource is denied");
    }

    private async Task LogInAsync(RegistryCredentials credentials, CancellationToken ct) =>
        (await _docker.LoginAsync(Host, credentials, ct)).EnsureSuccess();

    /// <summary>Gives <paramref name="user"/> a new personal access token of <paramref name="scope"/> and logs docker in with it.</summary>
    private async Task<PersonalAccessToken> LogInWithNewTokenAsync(TestUser user, string scope, CancellationToken ct)
    {
        var token = await user.CreateTokenAsync(scope, ct);
        await LogInAsync(token.For(user.Name), ct);
        return token;
    }

    /// <summary>A new image, loaded, tagged <paramref name="remote"/> and pushed there.</summary>
    private async Task<TestImage> PushNewImageAsync(string remote, CancellationToken ct)
    {
        var image = await LoadTaggedAsync(remote, ct);
        await _docker.PushAsync(remote, ct);
        return image;
    }

    /// <summary>Removes the local copy, pulls <paramref name="remote"/> again and checks it is <paramref name="image"/>.</summary>
    private async Task AssertPullsBackAsync(string remote, TestImage image, CancellationToken ct)
    {
        await RemoveLocalAsync(remote, ct);
        await _docker.PullAsync(remote, ct);
        Assert.Equal(image.Config.Digest, await _docker.ImageIdAsync(remote, ct));
    }

    private async Task RemoveLocalAsync(string remote, CancellationToken ct) =>
        (await _docker.RemoveImageAsync(remote, cancellationToken: ct)).EnsureSuccess();

    /// <summary>A new one-layer image, loaded into the engine and tagged <paramref name="remote"/>.</summary>
    private async Task<TestImage> LoadTaggedAsync(string remote, CancellationToken ct)
    {
        var image = TestImages.Create(layerCount: 1);
        var local = $"registry-e2e/{image.Marker}:v1";
        var archive = _directory.Combine(image.Marker + ".tar");
        await image.WriteDockerArchiveAsync(archive, local, ct);
        _createdReferences.Add(local);
        await _docker.LoadAsync(archive, ct);
        _createdReferences.Add(remote);
        await _docker.TagAsync(local, remote, ct);
        return image;
    }

    // The exact refusal goes into the test log: the documentation quotes what clients print.
    private void Show(string what, ProcessResult result) => output.WriteLine($"--- {what} ---\n{result}");
}
