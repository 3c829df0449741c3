using System.Security.Cryptography;
using System.Text.Json;
using Registry.Node.Client;
using Registry.Testing;

namespace Registry.Node.Tests.Client;

/// <summary>
/// Our registry as a child process, shared by the tests of a class; each test pushes to its own
/// repository. Authentication is on and anonymous pulls are off, so clients log in as admin
/// (<see cref="ClientOptions"/>) and the token flow is part of every pull.
/// </summary>
public sealed class RegistryFixture : IAsyncLifetime
{
    private RegistryProcess? _registry;

    public RegistryProcess Registry => _registry ?? throw new InvalidOperationException("the registry is not started");

    /// <summary>Client options with the admin's credentials.</summary>
    public RegistryClientOptions ClientOptions => new()
    {
        Credential = new RegistryCredential(RegistryProcess.AdminUsername, Registry.AdminPassword),
    };

    public async Task InitializeAsync() => _registry = await RegistryProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }
    }

    /// <summary>A new user <c>nodeXXXXXXXX</c> (who owns that namespace) and the REST API as that user, to create its tokens.</summary>
    public async Task<(RegistryCredentials User, RegistryApiClient Api)> CreateUserAsync()
    {
        var user = new RegistryCredentials(
            "node" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4)), Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)));
        using (var admin = new RegistryApiClient(Registry, Registry.Admin))
        {
            await admin.CreateUserAsync(user.Username, user.Password);
        }

        return (user, new RegistryApiClient(Registry, user));
    }

    /// <summary>
    /// What docker login gets for a password login and stores as the identity token:
    /// <c>GET /auth/token?offline_token=true</c> answers with a refresh token.
    /// </summary>
    public async Task<string> RefreshTokenAsync(RegistryCredentials user)
    {
        using var http = new HttpClient { BaseAddress = Registry.BaseAddress };
        using var request = new HttpRequestMessage(
            HttpMethod.Get, $"/auth/token?service=registry&offline_token=true&client_id=docker&account={Uri.EscapeDataString(user.Username)}");
        request.Headers.Authorization = user.BasicHeader();
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"token request answered {(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("refresh_token").GetString()!;
    }

    /// <summary>A repository name no other test uses.</summary>
    public static string NewRepository(string prefix) => $"node-tests/{prefix}-{Guid.NewGuid():N}";
}
