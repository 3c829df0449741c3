using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Registry.Testing;

namespace Registry.E2E.Tests.Replicas;

/// <summary>
/// Replicas started at the same moment on an empty database: one migrates and creates the keys, the other waits for
/// it and uses them, so that each accepts what the other signs (registry tokens, UI cookies and antiforgery tokens).
/// </summary>
[Collection(ReplicaCollection.Name)]
public sealed partial class ReplicaStartupTests(ReplicaPairFixture fixture, Xunit.Abstractions.ITestOutputHelper output)
{
    [Fact]
    public async Task A_replica_without_the_shared_key_encryption_key_refuses_to_start_naming_the_setting()
    {
        using var timeout = TestNames.Timeout();
        var settings = fixture.Pair.Settings.Where(s => s.Key != "Registry__Secrets__Key").ToDictionary();

        var refused = await Assert.ThrowsAnyAsync<Exception>(() => RegistryProcess.StartAsync(environment: settings, cancellationToken: timeout.Token));

        Assert.Contains("exited before it served", refused.Message, StringComparison.Ordinal);
        Assert.Contains("registry: the database holds encrypted keys but the key-encryption key file", refused.Message, StringComparison.Ordinal);
        Assert.Contains("Registry:Secrets:Key", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replicas_starting_together_on_an_empty_database_share_one_signing_key_and_one_key_ring()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var s3 = await S3Server.GetAsync();

        // Several rounds: the creation race is a matter of milliseconds, and one round could miss it.
        for (var round = 0; round < 3; round++)
        {
            var started = System.Diagnostics.Stopwatch.StartNew();
            await using var pair = await ReplicaPair.StartAsync(s3, together: true, ct: ct);
            output.WriteLine($"round {round}: both replicas answered after {started.Elapsed.TotalSeconds:F1} s");

            Assert.Equal(1, await pair.CountAsync("SELECT count(*) FROM signing_keys", ct));
            Assert.Equal(1, await pair.CountAsync("SELECT count(*) FROM data_protection_keys", ct));
            Assert.Equal(1, await pair.CountAsync("SELECT count(*) FROM accounts WHERE is_admin", ct));
            await AssertTokensCrossAsync(pair, ct);
            await AssertUiSessionCrossesAsync(pair, ct);
            output.WriteLine($"round {round}: checked after {started.Elapsed.TotalSeconds:F1} s\n{pair.First.Output}\n{pair.Second.Output}");
        }
    }

    /// <summary>A registry token from either replica's token endpoint is accepted by the other.</summary>
    private static async Task AssertTokensCrossAsync(ReplicaPair pair, CancellationToken ct)
    {
        var repository = TestNames.Repository("startup");
        for (var i = 0; i < 2; i++)
        {
            var token = await ReplicaHttp.TokenAsync(pair.Replicas[i], repository, ct);
            using var other = new ReplicaHttp(pair.Replicas[1 - i], token);
            using var probe = await other.SendAsync(HttpMethod.Get, $"/v2/{repository}/tags/list", ct: ct);
            Assert.True(probe.StatusCode == HttpStatusCode.NotFound, $"a token of replica {i + 1} on the other: {(int)probe.StatusCode} {await probe.Content.ReadAsStringAsync(ct)}");
            Assert.Contains("NAME_UNKNOWN", await probe.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        }
    }

    /// <summary>The sign-in form of one replica is posted to the other, and the session it starts is accepted by the first.</summary>
    private static async Task AssertUiSessionCrossesAsync(ReplicaPair pair, CancellationToken ct)
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false });
        var cookies = new Dictionary<string, string>(StringComparer.Ordinal);

        using var form = await SendAsync(http, cookies, new HttpRequestMessage(HttpMethod.Get, new Uri(pair.First.BaseAddress, "/login")), ct);
        var antiforgery = AntiforgeryField().Match(await form.Content.ReadAsStringAsync(ct)).Groups[1].Value;
        using var signIn = await SendAsync(http, cookies, new HttpRequestMessage(HttpMethod.Post, new Uri(pair.Second.BaseAddress, "/login"))
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["Username"] = pair.First.Admin.Username,
                ["Password"] = pair.First.Admin.Password,
                ["__RequestVerificationToken"] = antiforgery,
            }),
        }, ct);
        using var page = await SendAsync(http, cookies, new HttpRequestMessage(HttpMethod.Get, new Uri(pair.First.BaseAddress, "/settings/tokens")), ct);

        Assert.Equal(HttpStatusCode.Redirect, signIn.StatusCode);
        Assert.True(cookies.ContainsKey("registry_session"));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Sign out", await page.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, Dictionary<string, string> cookies, HttpRequestMessage request, CancellationToken ct)
    {
        using (request)
        {
            if (cookies.Count > 0)
            {
                request.Headers.Add("Cookie", string.Join("; ", cookies.Select(c => $"{c.Key}={c.Value}")));
            }

            var response = await http.SendAsync(request, ct);
            if (response.Headers.TryGetValues("Set-Cookie", out var values))
            {
                foreach (var pair in values.Select(v => v.Split(';')[0].Split('=', 2)))
                {
                    cookies[pair[0]] = pair[1];
                }
            }

            return response;
        }
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
