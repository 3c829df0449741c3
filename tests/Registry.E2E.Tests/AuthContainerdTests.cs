using Registry.Testing;
using Registry.Testing.Images;
using Xunit.Abstractions;

namespace Registry.E2E.Tests;

/// <summary>containerd's <c>ctr</c> pulls from our registry with a personal access token, in a namespace of the test's own.</summary>
public sealed class AuthContainerdTests(AuthFixture fixture, ITestOutputHelper output) : IClassFixture<AuthFixture>, IAsyncLifetime, IDisposable
{
    private readonly TemporaryDirectory _directory = new("e2e-auth-ctr");
    private readonly string _namespace = $"registry-e2e-{Guid.NewGuid():N}";
    private ContainerdCli? _ctr;

    private ContainerdCli Ctr => _ctr ?? throw new InvalidOperationException("containerd is not connected");

    public async Task InitializeAsync() => _ctr = await ContainerdCli.ConnectAsync(_namespace);

    public async Task DisposeAsync()
    {
        if (_ctr is not null)
        {
            await _ctr.RemoveNamespaceAsync();
        }
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Ctr_pulls_a_private_image_with_a_token_as_user()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        using var user = await fixture.CreateUserAsync(ct);
        var token = await user.CreateTokenAsync("read", ct);
        var (image, reference) = await PushAsync(user.Credentials, $"{user.Name}/app", ct);

        var pull = await Ctr.PullAsync(reference, token.For(user.Name), ct);

        await AssertPulledAsync(pull, reference, image, ct);
    }

    [Fact]
    public async Task Ctr_pulls_a_private_image_with_a_password_as_user()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var (image, reference) = await PushAsync(fixture.Registry.Admin, TestNames.Repository("ctr"), ct);

        var pull = await Ctr.PullAsync(reference, fixture.Registry.Admin, ct);

        await AssertPulledAsync(pull, reference, image, ct);
    }

    [Fact]
    public async Task Ctr_pull_with_wrong_credentials_is_refused()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var (_, reference) = await PushAsync(fixture.Registry.Admin, TestNames.Repository("ctr"), ct);

        var pull = await Ctr.PullAsync(reference, Wrong.Credentials, ct);

        output.WriteLine($"--- ctr pull with wrong credentials ---\n{pull}");
        Refusal.Assert(pull, "401 unauthorized");
    }

    [Fact]
    public async Task Ctr_pull_without_credentials_of_a_private_image_is_refused()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var (_, reference) = await PushAsync(fixture.Registry.Admin, TestNames.Repository("ctr"), ct);

        var pull = await Ctr.PullAsync(reference, credentials: null, ct);

        output.WriteLine($"--- ctr pull of a private image without credentials ---\n{pull}");
        Refusal.Assert(pull, "401 unauthorized");
    }

    /// <summary>The pull succeeded and <c>ctr images list</c> shows the reference at the image's manifest digest.</summary>
    private async Task AssertPulledAsync(ProcessResult pull, string reference, TestImage image, CancellationToken ct)
    {
        Assert.True(pull.Succeeded, pull.ToString());
        var listed = await Ctr.RunAsync(["images", "list"], ct);
        var line = Assert.Single(listed.StandardOutput.Split('\n'), l => l.StartsWith(reference + " ", StringComparison.Ordinal));
        Assert.Contains(image.OciManifest.Digest, line, StringComparison.Ordinal);
    }

    /// <summary>A new image pushed with skopeo into <c>REPOSITORY:v1</c> (private, the default).</summary>
    private async Task<(TestImage Image, string Reference)> PushAsync(RegistryCredentials pusher, string repository, CancellationToken ct)
    {
        var image = TestImages.Create(layerCount: 2);
        var reference = $"{fixture.Host}/{repository}:v1";
        await SkopeoPush.PushAsync(image, reference, pusher, _directory, ct);
        return (image, reference);
    }
}
