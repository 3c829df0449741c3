using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Web;
using Registry.Core.Access;

namespace Registry.Api.Tests.Infrastructure;

/// <summary>
/// Authenticates the way docker does: a request answered 401 with a Bearer challenge makes it ask
/// the challenge's realm for a token (Basic credentials, or none for an anonymous client) and send
/// the request again with it.
/// </summary>
/// <remarks>
/// <para>
/// Like docker, which knows from the image reference which repository it is about to push to, the
/// handler also asks for a token before a /v2 request whose repository its token does not cover yet.
/// Without that, a large upload's body would go out only to be refused: the server answers 401
/// without reading it and closes the connection, and a stream body cannot be sent a second time.
/// The realm comes from a challenge, if need be from probing <c>GET /v2/</c> first as docker does.
/// </para>
/// <para>
/// The handler keeps one token for every scope it has asked for so far and sends it with every
/// request, so a test does not fetch a token per request. Only the most recently asked-for
/// resources are kept, which bounds the token's size in a class that touches many repositories.
/// </para>
/// </remarks>
internal sealed class TokenAuthHandler(string? username, string? password) : DelegatingHandler
{
    private const int MaxResources = 32;
    private const string ClientId = "registry-api-tests";
    private static readonly string[] RouteMarkers = ["/blobs/", "/manifests/", "/tags/", "/referrers/"];

    private readonly SemaphoreSlim _refresh = new(1, 1);

    // Resource ("repository:a/b") to its actions, least recently asked for first.
    private readonly List<KeyValuePair<string, SortedSet<string>>> _scopes = [];
    private AuthChallenge? _server;
    private bool _probed;
    private string? _refreshToken;
    private string? _token;

    /// <summary>The token sent with requests now, or null before the first one was issued.</summary>
    public string? Token => Volatile.Read(ref _token);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (request.Headers.Authorization is not null)
        {
            return await base.SendAsync(request, cancellationToken); // the test speaks for itself
        }

        if (ScopesFor(request) is { Count: > 0 } needed)
        {
            await AuthorizeAheadAsync(request.RequestUri!, needed, cancellationToken);
        }

        var sent = Token;
        SetBearer(request, sent);
        var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Unauthorized || response.BearerChallenge() is not { } challenge)
        {
            return response;
        }

        var token = await RefreshAsync(challenge, sent, cancellationToken);
        if (token is null || !CanResend(request))
        {
            return response;
        }

        response.Dispose();
        SetBearer(request, token);
        return await base.SendAsync(request, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _refresh.Dispose();
        }

        base.Dispose(disposing);
    }

    private static void SetBearer(HttpRequestMessage request, string? token) =>
        request.Headers.Authorization = token is null ? null : new AuthenticationHeaderValue("Bearer", token);

    // Bytes in memory can be sent again; a stream may already be consumed, so such a request fails
    // with the original 401 instead of sending a body that is not there.
    private static bool CanResend(HttpRequestMessage request) => request.Content is null or ByteArrayContent;

    /// <summary>A token covering the challenge's scopes and all earlier ones; null when the realm refuses.</summary>
    private async Task<string?> RefreshAsync(AuthChallenge challenge, string? sent, CancellationToken cancellationToken)
    {
        await _refresh.WaitAsync(cancellationToken);
        try
        {
            _server = challenge;

            // Requests that raced with ours may have brought a token for these scopes already.
            if (_token is not null && _token != sent && Covers(challenge.Scopes))
            {
                return _token;
            }

            return await FetchAsync(challenge.Scopes, cancellationToken);
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>Gets a token for the scopes a request will need, unless the current one was asked for them already.</summary>
    private async Task AuthorizeAheadAsync(Uri target, IReadOnlyList<string> needed, CancellationToken cancellationToken)
    {
        await _refresh.WaitAsync(cancellationToken);
        try
        {
            if (Covers(needed))
            {
                return;
            }

            if (_server is null && !_probed)
            {
                _probed = true;
                using var ping = new HttpRequestMessage(HttpMethod.Get, new Uri(target, "/v2/"));
                using var probe = await base.SendAsync(ping, cancellationToken);
                _server = probe.StatusCode == HttpStatusCode.Unauthorized ? probe.BearerChallenge() : null;
            }

            if (_server is not null)
            {
                await FetchAsync(needed, cancellationToken);
            }
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>Adds the scopes to those asked for and fetches a token for all of them; the caller holds the lock.</summary>
    private async Task<string?> FetchAsync(IEnumerable<string> scopes, CancellationToken cancellationToken)
    {
        Merge(scopes);
        var token = await FetchTokenAsync(_server!, cancellationToken);
        if (token is not null)
        {
            Volatile.Write(ref _token, token);
        }

        return token;
    }

    /// <summary>
    /// A token for every scope asked for so far. Like docker after <c>docker login</c>, the first
    /// login with a password also asks for a refresh token, and later tokens come from the OAuth2
    /// refresh grant instead of sending the password again; if that is refused, the password is
    /// tried once more.
    /// </summary>
    private async Task<string?> FetchTokenAsync(AuthChallenge server, CancellationToken cancellationToken)
    {
        if (server.RealmUri is not { } realm)
        {
            return null;
        }

        if (_refreshToken is not null)
        {
            var form = new Dictionary<string, string>
            {
                ["grant_type"] = "refresh_token",
                ["refresh_token"] = _refreshToken,
                ["client_id"] = ClientId,
                ["scope"] = string.Join(' ', ScopeStrings()),
            };
            if (server.Service is not null)
            {
                form["service"] = server.Service;
            }

            using var refresh = new HttpRequestMessage(HttpMethod.Post, realm) { Content = new FormUrlEncodedContent(form) };
            if (await ReadTokenAsync(refresh, "access_token", cancellationToken) is { } refreshed)
            {
                return refreshed;
            }

            _refreshToken = null;
        }

        var query = new List<string>();
        if (server.Service is not null)
        {
            query.Add("service=" + Uri.EscapeDataString(server.Service));
        }

        if (username is not null)
        {
            query.AddRange(["account=" + Uri.EscapeDataString(username), "offline_token=true", "client_id=" + ClientId]);
        }

        query.AddRange(ScopeStrings().Select(s => "scope=" + Uri.EscapeDataString(s)));
        using var request = new HttpRequestMessage(HttpMethod.Get, new UriBuilder(realm) { Query = string.Join('&', query) }.Uri);
        if (username is not null)
        {
            request.Headers.Authorization = Basic(username, password ?? string.Empty);
        }

        return await ReadTokenAsync(request, "token", cancellationToken);
    }

    /// <summary>Sends a token request; the token from the answer (and keeps its refresh token), or null when refused.</summary>
    private async Task<string?> ReadTokenAsync(HttpRequestMessage request, string property, CancellationToken cancellationToken)
    {
        using var response = await base.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return null;
        }

        using var json = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(cancellationToken));
        if (json.RootElement.TryGetProperty("refresh_token", out var refreshToken))
        {
            _refreshToken = refreshToken.GetString();
        }

        return json.RootElement.TryGetProperty(property, out var token) ? token.GetString() : null;
    }

    private IEnumerable<string> ScopeStrings() => _scopes.Select(s => $"{s.Key}:{string.Join(',', s.Value)}");

    public static AuthenticationHeaderValue Basic(string username, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}")));

    private bool Covers(IEnumerable<string> scopes) =>
        scopes.Select(ParseScope).All(s =>
            _scopes.FindIndex(k => k.Key == s.Resource) is var i and >= 0 && _scopes[i].Value.IsSupersetOf(s.Actions));

    private void Merge(IEnumerable<string> scopes)
    {
        foreach (var (resource, actions) in scopes.Select(ParseScope))
        {
            var index = _scopes.FindIndex(s => s.Key == resource);
            var merged = new SortedSet<string>(actions, StringComparer.Ordinal);
            if (index >= 0)
            {
                merged.UnionWith(_scopes[index].Value);
                _scopes.RemoveAt(index);
            }

            _scopes.Add(new(resource, merged));
        }

        if (_scopes.Count > MaxResources)
        {
            _scopes.RemoveRange(0, _scopes.Count - MaxResources);
        }
    }

    /// <summary>
    /// The scopes a /v2 request needs, read from its path: the repository before its last route
    /// marker, pull to read, push to write, delete to delete; a mount also reads its source. A
    /// request it cannot read (the probe, a malformed name) is left to the challenge.
    /// </summary>
    private static List<string> ScopesFor(HttpRequestMessage request)
    {
        var path = request.RequestUri?.AbsolutePath ?? string.Empty;
        if (!path.StartsWith("/v2/", StringComparison.Ordinal))
        {
            return [];
        }

        var rest = path["/v2/".Length..];
        if (rest == "_catalog")
        {
            return ["registry:catalog:*"];
        }

        var marker = RouteMarkers.Max(m => rest.LastIndexOf(m, StringComparison.Ordinal));
        if (marker <= 0)
        {
            return [];
        }

        var name = rest[..marker];
        var isUpload = rest[marker..].StartsWith("/blobs/uploads/", StringComparison.Ordinal);
        var actions = request.Method == HttpMethod.Get || request.Method == HttpMethod.Head ? "pull"
            : request.Method == HttpMethod.Delete && !isUpload ? "delete"
            : "pull,push";
        var scopes = new List<string> { $"repository:{name}:{actions}" };
        if (request.Method == HttpMethod.Post && HttpUtility.ParseQueryString(request.RequestUri!.Query)["from"] is { Length: > 0 } from)
        {
            scopes.Add($"repository:{from}:pull");
        }

        return scopes;
    }

    /// <summary><c>type:name:actions</c>; the name may itself hold a colon, so type and actions are cut from the ends.</summary>
    private static (string Resource, string[] Actions) ParseScope(string scope)
    {
        var lastColon = scope.LastIndexOf(':');
        return lastColon <= 0
            ? (scope, [])
            : (scope[..lastColon], scope[(lastColon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries));
    }
}
