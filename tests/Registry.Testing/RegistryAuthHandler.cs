using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Registry.Testing;

/// <summary>
/// Lets tests that speak HTTP to a registry with auth on stay simple: a 401 with a
/// <c>Bearer realm=…,service=…,scope=…</c> challenge is answered by fetching a token from the realm
/// (with Basic credentials, or anonymously without any) and retrying once; a <c>Basic</c>
/// challenge is answered with the credentials. The last token is sent up front with the next
/// requests, so a request whose body can only be sent once (a stalled upload) still goes out
/// authorized when an earlier request of the same repository got the token. A refused token
/// request leaves the registry's 401 to the caller. Registries without auth never challenge.
/// </summary>
public sealed class RegistryAuthHandler : DelegatingHandler
{
    private readonly RegistryCredentials? _credentials;
    private volatile AuthenticationHeaderValue? _last;

    public RegistryAuthHandler(RegistryCredentials? credentials, HttpMessageHandler? inner = null)
        : base(inner ?? new SocketsHttpHandler())
    {
        _credentials = credentials;
    }

    /// <summary>An HttpClient for <paramref name="registry"/> that logs in as <paramref name="credentials"/> (default: its admin).</summary>
    public static HttpClient CreateClient(IRegistryServer registry, RegistryCredentials? credentials = null, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return new HttpClient(new RegistryAuthHandler(credentials ?? registry.Admin))
        {
            BaseAddress = registry.BaseAddress,
            Timeout = timeout ?? TimeSpan.FromMinutes(2),
        };
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // A request that carries its own Authorization is the caller's business.
        if (request.Headers.Authorization is not null)
        {
            return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }

        request.Headers.Authorization = _last;
        var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (response.StatusCode != HttpStatusCode.Unauthorized)
        {
            return response;
        }

        var answer = await AnswerAsync(response, cancellationToken).ConfigureAwait(false);
        if (answer is null)
        {
            return response;
        }

        response.Dispose();
        _last = answer;
        request.Headers.Authorization = answer;
        return await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
    }

    private async Task<AuthenticationHeaderValue?> AnswerAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        foreach (var challenge in response.Headers.WwwAuthenticate)
        {
            if (string.Equals(challenge.Scheme, "Basic", StringComparison.OrdinalIgnoreCase))
            {
                return _credentials?.BasicHeader();
            }

            if (string.Equals(challenge.Scheme, "Bearer", StringComparison.OrdinalIgnoreCase) && challenge.Parameter is { } parameter)
            {
                return await FetchTokenAsync(ParseParameters(parameter), cancellationToken).ConfigureAwait(false);
            }
        }

        return null;
    }

    private async Task<AuthenticationHeaderValue?> FetchTokenAsync(Dictionary<string, string> challenge, CancellationToken cancellationToken)
    {
        if (!challenge.TryGetValue("realm", out var realm))
        {
            return null;
        }

        var query = new StringBuilder();
        if (challenge.TryGetValue("service", out var service))
        {
            query.Append("service=").Append(Uri.EscapeDataString(service));
        }

        // One scope="…" may hold several scopes separated by spaces (a cross-repository mount).
        if (challenge.TryGetValue("scope", out var scopes))
        {
            foreach (var scope in scopes.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                query.Append(query.Length > 0 ? "&" : "").Append("scope=").Append(Uri.EscapeDataString(scope));
            }
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, new UriBuilder(realm) { Query = query.ToString() }.Uri);
        request.Headers.Authorization = _credentials?.BasicHeader();
        using var response = await base.SendAsync(request, cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            return null;
        }

        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        var token = body.RootElement.TryGetProperty("token", out var t) ? t.GetString()
            : body.RootElement.TryGetProperty("access_token", out var a) ? a.GetString()
            : null;
        return token is null ? null : new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary><c>key="value",key=value</c> pairs of a challenge; quoted values may hold commas.</summary>
    private static Dictionary<string, string> ParseParameters(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && (text[i] == ',' || text[i] == ' '))
            {
                i++;
            }

            var equals = text.IndexOf('=', i);
            if (equals < 0)
            {
                break;
            }

            var key = text[i..equals].Trim();
            i = equals + 1;
            var value = new StringBuilder();
            if (i < text.Length && text[i] == '"')
            {
                for (i++; i < text.Length && text[i] != '"'; i++)
                {
                    if (text[i] == '\\' && i + 1 < text.Length)
                    {
                        i++;
                    }

                    value.Append(text[i]);
                }

                i++; // the closing quote
            }
            else
            {
                for (; i < text.Length && text[i] != ','; i++)
                {
                    value.Append(text[i]);
                }
            }

            result[key] = value.ToString().Trim();
        }

        return result;
    }
}
