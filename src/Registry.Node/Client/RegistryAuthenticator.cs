using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Registry.Core.Access;

namespace Registry.Node.Client;

/// <summary>
/// Answers a registry's 401 challenges, as docker does: <c>Basic</c> gets the configured
/// credentials; <c>Bearer realm=…,service=…,scope=…</c> gets a token from the realm (anonymously,
/// with Basic credentials, or with an identity token as an OAuth2 refresh token) that is then
/// sent as <c>Authorization: Bearer</c>. Tokens are cached per repository until they expire,
/// so a pull asks for one token, not one per blob.
/// </summary>
internal sealed class RegistryAuthenticator
{
    // Docker's default when the token server does not say how long a token lives.
    private static readonly TimeSpan DefaultTokenLifetime = TimeSpan.FromSeconds(60);
    private const int MaxTokenResponseBytes = 1024 * 1024;

    private readonly HttpClient _http;
    private readonly string _registry;
    private readonly RegistryClientOptions _options;
    private readonly TimeProvider _time;
    private readonly Lazy<CredentialLookup> _credential;
    private readonly ConcurrentDictionary<string, (AuthenticationHeaderValue Header, DateTimeOffset Expires)> _tokens = new(StringComparer.Ordinal);
    private volatile AuthChallenge? _challenge;

    public RegistryAuthenticator(HttpClient http, string registry, RegistryClientOptions options, TimeProvider time)
    {
        _http = http;
        _registry = registry;
        _options = options;
        _time = time;
        _credential = new Lazy<CredentialLookup>(() => options.LookupCredential(registry));
    }

    /// <summary>The Authorization header to send for <paramref name="repository"/> before any 401, if we already know one.</summary>
    public AuthenticationHeaderValue? Current(string repository)
    {
        if (_options.BearerToken is { } given)
        {
            return new AuthenticationHeaderValue("Bearer", given);
        }

        var challenge = _challenge;
        if (challenge is null)
        {
            return null;
        }

        if (challenge.IsBasic)
        {
            return BasicHeader();
        }

        return _tokens.TryGetValue(repository, out var token) && token.Expires > _time.GetUtcNow() ? token.Header : null;
    }

    /// <summary>Handles a 401: returns the header to retry with, or throws <see cref="RegistryUnauthorizedException"/>.</summary>
    public async Task<AuthenticationHeaderValue> AnswerAsync(HttpResponseMessage response, string repository, CancellationToken cancellationToken)
    {
        if (_options.BearerToken is not null)
        {
            // A given token is all there is: nothing else may be tried in its place.
            var (_, reason) = await HttpBodies.ReadErrorAsync(response, cancellationToken).ConfigureAwait(false);
            throw Refused(repository, reason);
        }

        var challenge = response.Headers.WwwAuthenticate.Select(h => AuthChallenge.Parse(h.ToString()))
            .OfType<AuthChallenge>()
            .OrderBy(c => c.IsBearer ? 0 : c.IsBasic ? 1 : 2)
            .FirstOrDefault();
        if (challenge is null || (!challenge.IsBearer && !challenge.IsBasic))
        {
            throw Unauthorized($"{_registry} answered 401 without a Basic or Bearer challenge");
        }

        _challenge = challenge;
        if (challenge.IsBasic)
        {
            return BasicHeader() ?? throw Unauthorized($"{_registry} requires a login for {repository} and no credentials are configured");
        }

        return await FetchTokenAsync(challenge, repository, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The error for a 401 that came back although we answered the challenge.</summary>
    public RegistryUnauthorizedException Refused(string repository, string? detail)
    {
        var credential = _credential.Value.Credential;
        var who = _options.BearerToken is not null ? "the given bearer token"
            : credential is null ? "anonymous access"
            : $"the credentials of {credential.Username ?? "the identity token"}";
        return Unauthorized($"{_registry} refused {who} for {repository}{(detail is null ? "" : $" ({detail})")}");
    }

    private AuthenticationHeaderValue? BasicHeader()
    {
        var credential = _credential.Value.Credential;
        return credential is { HasPassword: true }
            ? new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.Username}:{credential.Password}")))
            : null;
    }

    private async Task<AuthenticationHeaderValue> FetchTokenAsync(AuthChallenge challenge, string repository, CancellationToken cancellationToken)
    {
        if (challenge.RealmUri is not { Scheme: "https" or "http" } realm)
        {
            throw Unauthorized($"{_registry} sent a Bearer challenge without a usable realm ('{challenge.Realm}')");
        }

        // Credentials over plain HTTP only where the registry itself is plain HTTP by choice or on loopback.
        if (realm.Scheme == "http" && !realm.IsLoopback && !_options.PlainHttp)
        {
            throw Unauthorized($"{_registry} sent a token realm over plain HTTP ({realm}); refusing to send credentials there");
        }

        var scope = challenge["scope"] ?? $"repository:{repository}:pull";
        var service = challenge.Service;
        var credential = _credential.Value.Credential;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);

        using var request = credential?.IdentityToken is { } refreshToken
            ? RefreshTokenRequest(realm, service, scope, refreshToken)
            : TokenRequest(realm, service, scope, credential);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token).ConfigureAwait(false);
        if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
        {
            // The server's reason ("token is inactive", "token has expired") is what the user can act on.
            var (_, reason) = await HttpBodies.ReadErrorAsync(response, timeout.Token).ConfigureAwait(false);
            var because = reason is null ? "" : $": {reason}";
            throw Unauthorized(credential is null
                ? $"the token server of {_registry} refused anonymous access to {repository}{because}"
                : $"the token server of {_registry} refused the credentials of {credential.Username ?? "the identity token"}{because}");
        }

        if (!response.IsSuccessStatusCode)
        {
            throw new RegistryClientException($"the token server {realm.GetLeftPart(UriPartial.Path)} answered {(int)response.StatusCode}") { StatusCode = (int)response.StatusCode };
        }

        var body = await HttpBodies.ReadBoundedAsync(response.Content, MaxTokenResponseBytes, "token response", timeout.Token).ConfigureAwait(false);
        using var document = JsonDocument.Parse(body);
        var root = document.RootElement;
        var token = Text(root, "token") ?? Text(root, "access_token");
        if (string.IsNullOrEmpty(token))
        {
            throw new RegistryClientException($"the token server {realm.GetLeftPart(UriPartial.Path)} answered without a token");
        }

        var lifetime = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : DefaultTokenLifetime;
        var header = new AuthenticationHeaderValue("Bearer", token);
        // Renew a little early so a request never goes out with a token about to expire.
        _tokens[repository] = (header, _time.GetUtcNow() + lifetime - TimeSpan.FromSeconds(Math.Min(10, lifetime.TotalSeconds / 2)));
        return header;
    }

    private static HttpRequestMessage TokenRequest(Uri realm, string? service, string scope, RegistryCredential? credential)
    {
        var query = new StringBuilder(realm.Query.Length > 1 ? realm.Query[1..] + "&" : "");
        if (service is not null)
        {
            query.Append("service=").Append(Uri.EscapeDataString(service)).Append('&');
        }

        // A challenge may name several scopes separated by spaces; each is its own parameter.
        foreach (var s in scope.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            query.Append("scope=").Append(Uri.EscapeDataString(s)).Append('&');
        }

        var uri = new UriBuilder(realm) { Query = query.ToString().TrimEnd('&') }.Uri;
        var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (credential is { HasPassword: true })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue(
                "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{credential.Username}:{credential.Password}")));
        }

        return request;
    }

    private static HttpRequestMessage RefreshTokenRequest(Uri realm, string? service, string scope, string refreshToken)
    {
        var form = new List<KeyValuePair<string, string>>
        {
            new("grant_type", "refresh_token"),
            new("refresh_token", refreshToken),
            new("client_id", "registry-node"),
            new("scope", scope),
        };
        if (service is not null)
        {
            form.Add(new("service", service));
        }

        return new HttpRequestMessage(HttpMethod.Post, realm) { Content = new FormUrlEncodedContent(form) };
    }

    private RegistryUnauthorizedException Unauthorized(string message) => new(message + NoticeSuffix()) { StatusCode = 401 };

    private string NoticeSuffix() => _credential.Value.Notice is { } notice ? $" ({notice})" : "";

    private static string? Text(JsonElement root, string name) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
