using System.Net;
using Registry.Api.Identity;
using Registry.Api.Tests.Infrastructure;

namespace Registry.Api.Tests.Auth;

/// <summary>Without a configured password the first start generates one, written to a file only its owner can read.</summary>
public sealed class AdminBootstrapTests : IAsyncLifetime
{
    private readonly RegistryFactory _registry = RegistryFactory.WithSettings(new Dictionary<string, string?> { ["Registry:Auth:AdminPassword"] = string.Empty });

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _registry.DisposeAsync().AsTask();

    [Fact]
    public async Task GeneratedPasswordIsWrittenOwnerOnlyAndLogsIn()
    {
        using var client = _registry.CreatePlainClient();
        var file = Path.Combine(_registry.DataDirectory, IdentityBootstrap.PasswordFileName);

        Assert.True(File.Exists(file), "the generated password file exists");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        }

        var password = (await File.ReadAllTextAsync(file)).Trim();
        Assert.True(password.Length >= 20, "the generated password is long");
        using var login = await client.RequestTokenAsync(RegistryFactory.Admin, password);
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
    }
}
