using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// Wrong passwords from many addresses add up for the account (Registry:Auth:AccountLoginFailureLimit, five here):
/// then password attempts are refused from every address where the password was not right before, while the
/// user's usual address and its access tokens keep working. Real Kestrel, clients on 127.0.0.2 and up.
/// </summary>
public sealed class AccountLockoutTests : IAsyncLifetime
{
    private readonly RegistryFactory _registry = RegistryFactory.WithSettings(new Dictionary<string, string?>
    {
        ["Registry:Auth:LoginFailureLimit"] = "3",
        ["Registry:Auth:AccountLoginFailureLimit"] = "5",
    }).OnKestrel();

    public Task InitializeAsync()
    {
        _registry.StartKestrel();
        return Task.CompletedTask;
    }

    public Task DisposeAsync() => _registry.DisposeAsync().AsTask();

    [Fact]
    public async Task GuessesFromManyAddressesLockThePasswordOutEverywhereButWhereItWasRight()
    {
        var alice = await _registry.NewUserAsync();
        var secret = (await _registry.NewPersonalTokenAsync(alice, new { name = "ci", scope = "read" })).GetProperty("token").GetString()!;
        var scope = $"repository:{alice.Name}/app:pull";
        using var home = From(2);
        using (var signIn = await home.RequestTokenAsync(alice.Name, alice.Password, scope))
        {
            Assert.Equal(HttpStatusCode.OK, signIn.StatusCode);
        }

        // Two guessers, neither reaching the limit of its own address: 2 + 3 wrong passwords.
        using var firstGuesser = From(3);
        using var secondGuesser = From(4);
        await GuessAsync(firstGuesser, alice, 2);
        await GuessAsync(secondGuesser, alice, 3);

        using var newcomer = From(5);
        using var passwordFromNewcomer = await newcomer.RequestTokenAsync(alice.Name, alice.Password, scope);
        using var passwordFromGuesser = await firstGuesser.RequestTokenAsync(alice.Name, alice.Password, scope);
        using var passwordFromHome = await home.RequestTokenAsync(alice.Name, alice.Password, scope);
        using var tokenFromNewcomer = await newcomer.RequestTokenAsync(alice.Name, secret, scope);

        await AssertErrorAsync(passwordFromNewcomer, HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS");
        await AssertErrorAsync(passwordFromGuesser, HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS");
        Assert.Equal(HttpStatusCode.OK, passwordFromHome.StatusCode);
        Assert.Equal(HttpStatusCode.OK, tokenFromNewcomer.StatusCode);
    }

    private HttpClient From(int host) => _registry.CreateClientFrom(IPAddress.Parse($"127.0.0.{host}"));

    private static async Task GuessAsync(HttpClient client, TestUser user, int count)
    {
        for (var attempt = 0; attempt < count; attempt++)
        {
            using var wrong = await client.RequestTokenAsync(user.Name, $"guess-{attempt}", $"repository:{user.Name}/app:pull");
            await AssertErrorAsync(wrong, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }
    }
}
