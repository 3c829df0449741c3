using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Registry.Core.Access;

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
        foreach (var header in response.Headers.WwwAuthenticate)
        {
            var challenge = AuthChallenge.Parse(header.ToString());
            if (challenge is { IsBasic: true })
            {
                return _credentials?.BasicHeader();
            }

            if (challenge is { IsBearer: true, Parameters.Count: > 0 })
            {
                return await FetchTokenAsync(challenge, cancellationToken).ConfigureAwait(false);
            }
        }

        return null;
    }

    private async Task<AuthenticationHeaderValue?> FetchTokenAsync(AuthChallenge challenge, CancellationToken cancellationToken)
    {
        if (challenge.Realm is not { } realm)
        {
            return null;
        }

        var query = new StringBuilder();
        if (challenge.Service is { } service)
        {
            query.Append("service=").Append(Uri.EscapeDataString(service));
        }

        // One scope="…" may hold several scopes separated by spaces (a cross-repository mount).
        foreach (var scope in challenge.Scopes)
        {
            query.Append(query.Length > 0 ? "&" : "").Append("scope=").Append(Uri.EscapeDataString(scope));
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
}
