using System.Net;
using System.Text.RegularExpressions;

namespace Registry.Api.Tests.Infrastructure;

/// <summary>
/// A browser's view of the web UI over HTTP: it keeps the cookies the registry sets, and sends forms with the
/// antiforgery token of the page they are on.
/// </summary>
internal sealed partial class UiSession(HttpClient client)
{
    private readonly Dictionary<string, string> _cookies = new(StringComparer.Ordinal);

    /// <summary>Signs in through the /login form; the answer is the form's.</summary>
    public Task<HttpResponseMessage> SignInAsync(string username, string password) =>
        PostFormAsync("/login", "/login", new Dictionary<string, string> { ["Username"] = username, ["Password"] = password });

    public async Task<HttpResponseMessage> GetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        return await SendAsync(request);
    }

    /// <summary>GETs the page the form is on (for its antiforgery token), then POSTs the form to <paramref name="action"/>.</summary>
    public async Task<HttpResponseMessage> PostFormAsync(string page, string action, Dictionary<string, string> fields)
    {
        string token;
        using (var form = await GetAsync(page))
        {
            Assert.Equal(HttpStatusCode.OK, form.StatusCode);
            token = AntiforgeryField().Match(await form.Content.ReadAsStringAsync()).Groups[1].Value;
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, action)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>(fields) { ["__RequestVerificationToken"] = token }),
        };
        return await SendAsync(request);
    }

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request)
    {
        if (_cookies.Count > 0)
        {
            request.Headers.Add("Cookie", string.Join("; ", _cookies.Select(c => $"{c.Key}={c.Value}")));
        }

        var response = await client.SendAsync(request);
        if (response.Headers.TryGetValues("Set-Cookie", out var values))
        {
            foreach (var pair in values.Select(v => v.Split(';')[0].Split('=', 2)))
            {
                _cookies[pair[0]] = pair[1];
            }
        }

        return response;
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
