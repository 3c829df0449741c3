using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Registry.Core.Access;

namespace Registry.Api.Tests.Infrastructure;

/// <summary>One entry of a token's <c>access</c> claim, its actions sorted and joined by commas ("pull,push").</summary>
internal sealed record GrantedAccess(string Type, string Name, string Actions);

/// <summary>Calls to the token endpoint /auth/token and reading the JWTs it issues.</summary>
internal static class AuthHttp
{
    public const string Service = "registry";

    /// <summary>The response's <c>WWW-Authenticate: Bearer</c> challenge that names a token realm, or null.</summary>
    public static AuthChallenge? BearerChallenge(this HttpResponseMessage response) =>
        response.Headers.WwwAuthenticate
            .Select(header => AuthChallenge.Parse(header.ToString()))
            .FirstOrDefault(challenge => challenge is { IsBearer: true, RealmUri: not null });

    /// <summary>GET /auth/token with Basic credentials (none when <paramref name="username"/> is null) and each scope as a query parameter.</summary>
    public static Task<HttpResponseMessage> RequestTokenAsync(this HttpClient client, string? username, string? password, params string[] scopes) =>
        client.RequestTokenWithQueryAsync(username, password, string.Join('&', scopes.Select(s => "scope=" + Uri.EscapeDataString(s)).Prepend("service=" + Service)));

    /// <summary>GET /auth/token with the query as given.</summary>
    public static async Task<HttpResponseMessage> RequestTokenWithQueryAsync(this HttpClient client, string? username, string? password, string query)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/auth/token?" + query);
        if (username is not null)
        {
            request.Headers.Authorization = TokenAuthHandler.Basic(username, password ?? string.Empty);
        }

        return await client.SendAsync(request);
    }

    /// <summary>A token for the scopes, checking it was issued.</summary>
    public static async Task<string> TokenAsync(this HttpClient client, string? username, string? password, params string[] scopes)
    {
        using var response = await client.RequestTokenAsync(username, password, scopes);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"token request answered {(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("token").GetString()!;
    }

    /// <summary>POST /auth/token with a form, as OAuth2 clients do.</summary>
    public static Task<HttpResponseMessage> PostTokenAsync(this HttpClient client, params (string Name, string Value)[] form) =>
        client.PostAsync("/auth/token", new FormUrlEncodedContent(form.Select(f => KeyValuePair.Create(f.Name, f.Value))));

    /// <summary>Sends a request with this bearer token, bypassing any token handling of the client.</summary>
    public static Task<HttpResponseMessage> SendWithTokenAsync(this HttpClient client, HttpMethod method, string url, string token, byte[]? body = null) =>
        client.SendAsync(method, url, body, configure: request => request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token));

    /// <summary>The JWT's payload, decoded without checking its signature.</summary>
    public static JsonElement Payload(string jwt) =>
        JsonDocument.Parse(Base64UrlDecode(jwt.Split('.')[1])).RootElement.Clone();

    public static JsonElement Header(string jwt) =>
        JsonDocument.Parse(Base64UrlDecode(jwt.Split('.')[0])).RootElement.Clone();

    /// <summary>The <c>access</c> claim: what the token grants.</summary>
    public static IReadOnlyList<GrantedAccess> Grants(string jwt) =>
        Payload(jwt).TryGetProperty("access", out var access) && access.ValueKind == JsonValueKind.Array
            ? [.. access.EnumerateArray().Select(a => new GrantedAccess(
                a.GetProperty("type").GetString()!,
                a.GetProperty("name").GetString()!,
                string.Join(',', a.GetProperty("actions").EnumerateArray().Select(x => x.GetString()).Order(StringComparer.Ordinal))))]
            : [];

    /// <summary>The actions the token grants on a repository, sorted; empty when it grants none.</summary>
    public static IReadOnlyList<string> ActionsOn(string jwt, string repository) =>
        Grants(jwt).Where(a => a.Type == "repository" && a.Name == repository)
            .SelectMany(a => a.Actions.Split(',', StringSplitOptions.RemoveEmptyEntries)).Distinct().Order(StringComparer.Ordinal).ToList();

    public static byte[] Base64UrlDecode(string text)
    {
        var base64 = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '='));
    }

    public static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static string Base64UrlEncode(string text) => Base64UrlEncode(Encoding.UTF8.GetBytes(text));

    /// <summary>Checks an OAuth2 error answer <c>{"error": "...", "error_description": "..."}</c>.</summary>
    public static async Task AssertOAuthErrorAsync(HttpResponseMessage response, HttpStatusCode status, string error)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status} {error}, got {(int)response.StatusCode}: {(body.Length > 500 ? body[..500] + "…" : body)}");
        using var json = JsonDocument.Parse(body);
        Assert.Equal(error, json.RootElement.GetProperty("error").GetString());
    }

    /// <summary>Checks the distribution error format and that the first error's message contains <paramref name="message"/>.</summary>
    public static async Task AssertErrorMessageAsync(HttpResponseMessage response, HttpStatusCode status, string code, string message)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        var first = json.RootElement.GetProperty("errors")[0];
        Assert.Equal(code, first.GetProperty("code").GetString());
        Assert.Contains(message, first.GetProperty("message").GetString(), StringComparison.Ordinal);
    }
}
