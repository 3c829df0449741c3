using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Registry.Core.Access;

namespace Registry.Bench;

/// <summary>The account the bench tool signs in with where a registry asks for a token.</summary>
internal sealed record RegistryCredentials(string User, string Password)
{
    /// <summary><c>--user NAME --password-env VAR</c>: the password stays out of the command line (and ps).</summary>
    public static RegistryCredentials? FromOptions(Options options)
    {
        var user = options.GetOptional("user");
        var variable = options.GetOptional("password-env");
        if (user is null && variable is null)
        {
            return null;
        }

        if (user is null || variable is null)
        {
            throw new BenchException("--user and --password-env go together");
        }

        var password = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrEmpty(password)
            ? throw new BenchException($"--password-env {variable}: the variable is not set")
            : new RegistryCredentials(user, password);
    }

    public AuthenticationHeaderValue BasicHeader() =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}")));
}

/// <summary>
/// Docker token authentication, the way docker and containerd do it: a request answered 401 with a Bearer challenge
/// gets a token from the challenge's realm (Basic credentials, every scope asked for so far in one token) and is sent
/// again; later requests carry the cached token from the start, and it is renewed shortly before it expires, so a
/// streamed upload body is never refused half-way. A registry that never challenges (the reference) sees no change.
/// </summary>
internal sealed class BearerTokenHandler(RegistryCredentials? credentials, TimeProvider time) : DelegatingHandler
{
    // expires_in when the token response has none (the token specification's default).
    private static readonly TimeSpan DefaultLifetime = TimeSpan.FromSeconds(60);

    private readonly SemaphoreSlim _renewing = new(1, 1);
    private readonly SortedSet<string> _scopes = new(StringComparer.Ordinal);
    private CachedToken? _token;
    private AuthChallenge? _lastChallenge;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var token = await CurrentTokenAsync(cancellationToken);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token.Value);
        }

        var response = await base.SendAsync(request, cancellationToken);
        if (credentials is null || BearerChallenge(response) is not { } challenge || !CanSendAgain(request))
        {
            return response;
        }

        var renewed = await RenewAsync(challenge, token, cancellationToken);
        response.Dispose();
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", renewed.Value);
        return await base.SendAsync(request, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _renewing.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>The Bearer challenge of a 401 that names a token realm, or null when there is none (a registry without token auth).</summary>
    private static AuthChallenge? BearerChallenge(HttpResponseMessage response) =>
        response.StatusCode != HttpStatusCode.Unauthorized
            ? null
            : response.Headers.WwwAuthenticate
                .Select(header => AuthChallenge.Parse(header.ToString()))
                .FirstOrDefault(challenge => challenge is { IsBearer: true, RealmUri: not null });

    /// <summary>A body already streamed to the server cannot be sent again; buffered and empty ones can.</summary>
    private static bool CanSendAgain(HttpRequestMessage request) => request.Content is null or ByteArrayContent;

    /// <summary>The cached token, renewed first if it is about to expire; null before any challenge.</summary>
    private async Task<CachedToken?> CurrentTokenAsync(CancellationToken cancellationToken)
    {
        var token = _token;
        if (token is null || time.GetUtcNow() < token.RenewAfter)
        {
            return token;
        }

        await _renewing.WaitAsync(cancellationToken);
        try
        {
            if (_token == token && _lastChallenge is not null)
            {
                _token = await FetchAsync(_lastChallenge, cancellationToken);
            }

            return _token;
        }
        finally
        {
            _renewing.Release();
        }
    }

    private async Task<CachedToken> RenewAsync(AuthChallenge challenge, CachedToken? refused, CancellationToken cancellationToken)
    {
        await _renewing.WaitAsync(cancellationToken);
        try
        {
            var known = challenge.Scopes.All(_scopes.Contains);
            _scopes.UnionWith(challenge.Scopes);
            _lastChallenge = challenge;
            // Several requests in flight are refused at once: the first one fetches, the others use its token.
            if (known && _token is not null && _token != refused)
            {
                return _token;
            }

            _token = await FetchAsync(challenge, cancellationToken);
            return _token;
        }
        finally
        {
            _renewing.Release();
        }
    }

    private async Task<CachedToken> FetchAsync(AuthChallenge challenge, CancellationToken cancellationToken)
    {
        // The credentials go wherever the registry points; the benchmark's traffic must stay on this machine.
        var realm = challenge.RealmUri;
        if (realm is null || !realm.IsLoopback)
        {
            throw new BenchException($"token realm {challenge.Realm} is not on this machine; not sending credentials there");
        }

        var query = new StringBuilder();
        if (challenge.Service is not null)
        {
            query.Append("service=").Append(Uri.EscapeDataString(challenge.Service));
        }

        foreach (var scope in _scopes)
        {
            query.Append(query.Length > 0 ? "&" : "").Append("scope=").Append(Uri.EscapeDataString(scope));
        }

        var url = new UriBuilder(realm) { Query = query.ToString() }.Uri;
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Authorization = credentials!.BasicHeader();
        var issued = time.GetUtcNow();
        using var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            throw new BenchException($"token request to {realm} answered {(int)response.StatusCode} {body.Trim()}");
        }

        await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var document = await JsonDocument.ParseAsync(stream, cancellationToken: cancellationToken);
        var root = document.RootElement;
        var value = (root.TryGetProperty("token", out var t) ? t.GetString() : null)
            ?? (root.TryGetProperty("access_token", out var a) ? a.GetString() : null)
            ?? throw new BenchException($"token response from {realm} holds no token");
        var lifetime = root.TryGetProperty("expires_in", out var e) && e.TryGetInt32(out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds)
            : DefaultLifetime;
        // Renew with a tenth of the lifetime (at least 10 s) to spare: a request never starts with a token about to lapse.
        var spare = TimeSpan.FromTicks(Math.Max(lifetime.Ticks / 10, TimeSpan.FromSeconds(10).Ticks));
        return new CachedToken(value, issued + lifetime - spare);
    }

    private sealed record CachedToken(string Value, DateTimeOffset RenewAfter);
}
