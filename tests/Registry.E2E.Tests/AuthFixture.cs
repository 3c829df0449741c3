using System.Security.Cryptography;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.E2E.Tests;

/// <summary>
/// Our registry with authentication for the auth tests, always ours (the reference registry has
/// no users); anonymous pulls of public repositories are allowed, as in the default configuration.
/// Each test creates its own users (<see cref="CreateUserAsync"/>), so tests share no accounts.
/// </summary>
public sealed class AuthFixture : IAsyncLifetime, IDisposable
{
    private RegistryProcess? _registry;
    private RegistryApiClient? _admin;

    public RegistryProcess Registry => _registry ?? throw new InvalidOperationException("The registry did not start.");

    public string Host => Registry.HostPort;

    /// <summary>The REST API as admin.</summary>
    public RegistryApiClient AdminApi => _admin ?? throw new InvalidOperationException("The registry did not start.");

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        _registry = await RegistryProcess.StartAsync(
            environment: new Dictionary<string, string?> { [RegistryProcess.AnonymousPullVariable] = "true" },
            cancellationToken: timeout.Token);
        _admin = new RegistryApiClient(_registry, _registry.Admin);
    }

    /// <summary>A new user <c>aliceXXXXXXXX</c> with a random password, and the REST API as that user.</summary>
    public async Task<TestUser> CreateUserAsync(CancellationToken cancellationToken)
    {
        var name = "alice" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
        await AdminApi.CreateUserAsync(name, password, cancellationToken: cancellationToken);
        return new TestUser(new RegistryCredentials(name, password), new RegistryApiClient(Registry, new RegistryCredentials(name, password)));
    }

    public void Dispose() => _admin?.Dispose();

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }
    }
}

/// <summary>A user of the registry: name, password and the REST API as that user (to create its tokens).</summary>
public sealed class TestUser(RegistryCredentials credentials, RegistryApiClient api) : IDisposable
{
    public string Name => credentials.Username;

    public RegistryCredentials Credentials => credentials;

    public RegistryApiClient Api => api;

    /// <summary>A personal access token of this user; its credentials are (user name, <c>regpat_…</c>).</summary>
    public Task<PersonalAccessToken> CreateTokenAsync(string scope, CancellationToken cancellationToken)
        => api.CreateTokenAsync($"e2e-{scope}-{Guid.NewGuid():N}"[..30], scope, cancellationToken: cancellationToken);

    public void Dispose() => api.Dispose();
}

/// <summary>Credentials no registry accepts: an account that does not exist, with a token-like secret.</summary>
internal static class Wrong
{
    public static RegistryCredentials Credentials { get; } = new("nobody" + Guid.NewGuid().ToString("N")[..8], "regpat_not-a-token");
}

/// <summary>Assertions on what a refused client printed.</summary>
internal static class Refusal
{
    /// <summary>The command failed and its output (either stream, any case) names one of <paramref name="words"/>.</summary>
    public static void Assert(ProcessResult result, params string[] words)
    {
        Xunit.Assert.False(result.Succeeded, $"The command was expected to fail:\n{result}");
        var output = result.CombinedOutput.ToLowerInvariant();
        Xunit.Assert.True(
            words.Any(w => output.Contains(w.ToLowerInvariant(), StringComparison.Ordinal)),
            $"The output names none of [{string.Join(", ", words)}]:\n{result}");
    }
}

/// <summary>Pushes as the auth tests do: <c>skopeo copy --dest-creds USER:SECRET</c> from an OCI layout.</summary>
internal static class SkopeoPush
{
    /// <summary>Writes <paramref name="image"/> as an OCI layout under <paramref name="directory"/> and copies it to <paramref name="reference"/>.</summary>
    public static async Task<ProcessResult> TryPushAsync(
        TestImage image, string reference, RegistryCredentials pusher, TemporaryDirectory directory, CancellationToken ct)
    {
        var layout = directory.Combine(image.Marker);
        await image.WriteOciLayoutAsync(layout, "v1", ct);
        return await SkopeoCli.TryRunAsync(
            ["copy", "--dest-tls-verify=false", "--dest-creds", pusher.UserColonPassword, $"oci:{layout}:v1", $"docker://{reference}"], ct);
    }

    /// <summary>As <see cref="TryPushAsync"/>, throwing unless skopeo succeeded.</summary>
    public static async Task PushAsync(
        TestImage image, string reference, RegistryCredentials pusher, TemporaryDirectory directory, CancellationToken ct)
        => (await TryPushAsync(image, reference, pusher, directory, ct)).EnsureSuccess();
}
