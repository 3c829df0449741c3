using System.Security.Cryptography;
using System.Text;
using Registry.Testing;
using Registry.Testing.Images;
using Xunit.Abstractions;

namespace Registry.E2E.Tests;

/// <summary>skopeo and podman with <c>--creds USER:TOKEN</c> against our registry with authentication.</summary>
public sealed class AuthSkopeoPodmanTests(AuthFixture fixture, ITestOutputHelper output) : IClassFixture<AuthFixture>, IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan PodmanTimeout = TimeSpan.FromMinutes(3);

    private readonly TemporaryDirectory _directory = new("e2e-auth-skopeo");
    private readonly List<string> _podmanImages = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var reference in _podmanImages)
        {
            await ProcessRunner.RunAsync("podman", ["rmi", "--force", reference], PodmanTimeout);
        }
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Skopeo_copies_in_and_inspects_with_a_token_as_creds()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        using var user = await fixture.CreateUserAsync(ct);
        var creds = (await user.CreateTokenAsync("read-write", ct)).For(user.Name);
        var image = TestImages.Create(layerCount: 2);
        var reference = $"{fixture.Host}/{user.Name}/app:v1";

        await SkopeoPush.PushAsync(image, reference, creds, _directory, ct);

        var raw = await SkopeoCli.RunAsync(["inspect", "--tls-verify=false", "--creds", creds.UserColonPassword, "--raw", $"docker://{reference}"], ct);
        Assert.Equal(image.OciManifest.Digest, Sha256(raw.StandardOutput));
    }

    [Fact]
    public async Task Skopeo_with_wrong_credentials_is_refused()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var image = TestImages.Create(layerCount: 1);

        var copy = await SkopeoPush.TryPushAsync(image, $"{fixture.Host}/{TestNames.Repository("skopeo")}:v1", Wrong.Credentials, _directory, ct);

        output.WriteLine($"--- skopeo copy with wrong credentials ---\n{copy}");
        Refusal.Assert(copy, "unauthorized: invalid username or password");
    }

    [Fact]
    public async Task Skopeo_push_with_a_read_token_is_refused()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        using var user = await fixture.CreateUserAsync(ct);
        var token = await user.CreateTokenAsync("read", ct);
        var image = TestImages.Create(layerCount: 1);

        var copy = await SkopeoPush.TryPushAsync(image, $"{fixture.Host}/{user.Name}/app:v1", token.For(user.Name), _directory, ct);

        output.WriteLine($"--- skopeo copy with a read token ---\n{copy}");
        Refusal.Assert(copy, "denied: requested access to the resource is denied");
    }

    [Fact]
    public async Task Podman_pulls_and_pushes_with_a_token_as_creds()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        using var user = await fixture.CreateUserAsync(ct);
        var creds = (await user.CreateTokenAsync("read-write", ct)).For(user.Name);

        await AssertPodmanPullsTagsAndPushesAsync(
            creds, $"{fixture.Host}/{user.Name}/source:v1", $"{fixture.Host}/{user.Name}/copy:v1", ct);
    }

    [Fact]
    public async Task Podman_pull_with_wrong_credentials_is_refused()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var image = TestImages.Create(layerCount: 1);
        var reference = $"{fixture.Host}/{TestNames.Repository("podman")}:v1";
        await SkopeoPush.PushAsync(image, reference, fixture.Registry.Admin, _directory, ct);

        _podmanImages.Add(reference);
        var pull = await ProcessRunner.RunAsync(
            "podman", ["pull", "--tls-verify=false", "--creds", Wrong.Credentials.UserColonPassword, reference], PodmanTimeout, cancellationToken: ct);

        output.WriteLine($"--- podman pull with wrong credentials ---\n{pull}");
        Refusal.Assert(pull, "unauthorized: invalid username or password");
    }

    [Fact]
    public async Task Podman_pulls_and_pushes_with_a_password_as_creds()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;

        await AssertPodmanPullsTagsAndPushesAsync(
            fixture.Registry.Admin,
            $"{fixture.Host}/{TestNames.Repository("podman-source")}:v1",
            $"{fixture.Host}/{TestNames.Repository("podman-copy")}:v1",
            ct);
    }

    /// <summary>
    /// With <c>--creds</c> throughout: a new image pushed to <paramref name="source"/>, podman pulls it,
    /// tags it <paramref name="copy"/> and pushes that, and the registry serves the image's config there.
    /// </summary>
    private async Task AssertPodmanPullsTagsAndPushesAsync(RegistryCredentials credentials, string source, string copy, CancellationToken ct)
    {
        var creds = credentials.UserColonPassword;
        var image = TestImages.Create(layerCount: 2);
        await SkopeoPush.PushAsync(image, source, credentials, _directory, ct);

        _podmanImages.Add(source);
        await PodmanAsync(["pull", "--tls-verify=false", "--creds", creds, source], ct);
        _podmanImages.Add(copy);
        await PodmanAsync(["tag", source, copy], ct);
        await PodmanAsync(["push", "--tls-verify=false", "--creds", creds, copy], ct);

        var config = await SkopeoCli.RunAsync(["inspect", "--tls-verify=false", "--creds", creds, "--config", "--raw", $"docker://{copy}"], ct);
        Assert.Equal(image.Config.Digest, Sha256(config.StandardOutput));
    }

    private static string Sha256(string text) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));

    private static async Task PodmanAsync(IEnumerable<string> arguments, CancellationToken ct)
        => (await ProcessRunner.RunAsync("podman", arguments, PodmanTimeout, cancellationToken: ct)).EnsureSuccess();
}
