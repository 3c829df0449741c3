using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// Changing one's own password needs the current one; wrong current passwords count like failed logins
/// (Registry:Auth:LoginFailureLimit, three here), so a stolen token or an unattended session cannot guess it.
/// </summary>
public sealed class PasswordChangeThrottleTests(PasswordChangeThrottleTests.Registry fixture) : IClassFixture<PasswordChangeThrottleTests.Registry>
{
    private readonly RegistryFactory _registry = fixture.Factory;

    [Fact]
    public async Task WrongCurrentPasswordsThroughTheRestApiAreThrottled()
    {
        // An unlimited access token may change its owner's password, with the current password.
        var alice = await _registry.NewUserAsync();
        var created = await _registry.NewPersonalTokenAsync(alice, new { name = "all", scope = "read-write-delete" });
        using var api = _registry.CreatePlainClient();
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created.GetProperty("token").GetString());
        var url = $"/api/v1/users/{alice.Name}/password";
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var wrong = await api.PutAsJsonAsync(url, new { password = "a-new-password-1", currentPassword = $"guess-{attempt}" });
            await AssertErrorAsync(wrong, HttpStatusCode.Forbidden, "DENIED");
        }

        using var right = await api.PutAsJsonAsync(url, new { password = "a-new-password-1", currentPassword = alice.Password });

        await AssertErrorAsync(right, HttpStatusCode.TooManyRequests, "TOO_MANY_REQUESTS");
        Assert.NotNull(right.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task WrongCurrentPasswordsOnTheProfilePageAreThrottled()
    {
        var alice = await _registry.NewUserAsync();
        var browser = new UiSession(_registry.CreatePlainClient());
        using (var signIn = await browser.SignInAsync(alice.Name, alice.Password))
        {
            Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        }

        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var wrong = await ChangePasswordAsync(browser, $"guess-{attempt}");
            Assert.Contains("The current password is wrong.", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using var right = await ChangePasswordAsync(browser, alice.Password);

        Assert.Equal(HttpStatusCode.TooManyRequests, right.StatusCode);
        Assert.Contains("Too many wrong passwords; try again in", await right.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.NotNull(right.Headers.RetryAfter?.Delta);
    }

    private static Task<HttpResponseMessage> ChangePasswordAsync(UiSession browser, string currentPassword) =>
        browser.PostFormAsync("/settings/profile", "/settings/profile?handler=Password", new Dictionary<string, string>
        {
            ["CurrentPassword"] = currentPassword,
            ["NewPassword"] = "a-new-password-1",
        });

    /// <summary>The fixture: a registry that locks password attempts out after three wrong ones.</summary>
    public sealed class Registry : IAsyncLifetime
    {
        public RegistryFactory Factory { get; } = RegistryFactory.WithSettings(new Dictionary<string, string?> { ["Registry:Auth:LoginFailureLimit"] = "3" });

        public Task InitializeAsync() => Task.CompletedTask;

        public Task DisposeAsync() => Factory.DisposeAsync().AsTask();
    }
}
