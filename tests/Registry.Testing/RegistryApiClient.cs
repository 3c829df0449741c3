using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Registry.Testing;

/// <summary>A personal access token as created: <see cref="Token"/> (<c>regpat_…</c>) is shown only then.</summary>
public sealed record PersonalAccessToken(string Id, string Name, string Scope, string Token)
{
    public RegistryCredentials For(string username) => new(username, Token);

    public override string ToString() => $"PersonalAccessToken {{ Id = {Id}, Name = {Name}, Scope = {Scope} }}";
}

/// <summary>
/// Our registry's REST API (<c>/api/v1</c>) as one user, with Basic authentication: what tests
/// need to set up users, tokens and repositories. Every call throws
/// <see cref="HttpRequestException"/> with the answer's body unless it succeeds.
/// </summary>
public sealed class RegistryApiClient : IDisposable
{
    private readonly HttpClient _http;

    public RegistryApiClient(IRegistryServer registry, RegistryCredentials caller)
    {
        ArgumentNullException.ThrowIfNull(registry);
        ArgumentNullException.ThrowIfNull(caller);
        _http = new HttpClient { BaseAddress = registry.BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        _http.DefaultRequestHeaders.Authorization = caller.BasicHeader();
    }

    /// <summary><c>POST /api/v1/users</c> (administrators only).</summary>
    public async Task CreateUserAsync(string username, string password, bool isAdmin = false, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsJsonAsync(
            "/api/v1/users", new { username, password, isAdmin }, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, HttpStatusCode.Created, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// <c>POST /api/v1/tokens</c>: a token of the caller with <paramref name="scope"/>
    /// (<c>read</c>, <c>read-write</c>, <c>read-write-delete</c>), optionally limited to a namespace or repository.
    /// </summary>
    public async Task<PersonalAccessToken> CreateTokenAsync(
        string name, string scope, string? @namespace = null, string? repository = null, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsJsonAsync(
            "/api/v1/tokens", new { name, scope, @namespace, repository }, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, HttpStatusCode.Created, cancellationToken).ConfigureAwait(false);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
        var root = body.RootElement;
        var id = root.GetProperty("id");
        return new PersonalAccessToken(
            id.ValueKind == JsonValueKind.String ? id.GetString()! : id.GetRawText(),
            root.GetProperty("name").GetString()!,
            root.GetProperty("scope").GetString()!,
            root.GetProperty("token").GetString()!);
    }

    /// <summary><c>PATCH /api/v1/tokens/{id}</c> <c>{"active": …}</c>.</summary>
    public async Task SetTokenActiveAsync(string id, bool active, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PatchAsJsonAsync(
            $"/api/v1/tokens/{Uri.EscapeDataString(id)}", new { active }, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, HttpStatusCode.OK, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>DELETE /api/v1/tokens/{id}</c>.</summary>
    public async Task DeleteTokenAsync(string id, CancellationToken cancellationToken = default)
    {
        using var response = await _http.DeleteAsync($"/api/v1/tokens/{Uri.EscapeDataString(id)}", cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, HttpStatusCode.NoContent, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>POST /api/v1/repositories</c>: creates a repository with a visibility before anything is pushed.</summary>
    public async Task CreateRepositoryAsync(string name, string visibility, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PostAsJsonAsync(
            "/api/v1/repositories", new { name, visibility }, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, HttpStatusCode.Created, cancellationToken).ConfigureAwait(false);
    }

    /// <summary><c>PATCH /api/v1/repositories/{name}</c> <c>{"visibility": "public"|"private"}</c>.</summary>
    public async Task SetVisibilityAsync(string repository, string visibility, CancellationToken cancellationToken = default)
    {
        using var response = await _http.PatchAsJsonAsync(
            $"/api/v1/repositories/{RepositoryPath(repository)}", new { visibility }, cancellationToken).ConfigureAwait(false);
        await EnsureAsync(response, HttpStatusCode.OK, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => _http.Dispose();

    // The name's slashes are path separators of the route; each component is escaped on its own.
    private static string RepositoryPath(string repository)
        => string.Join('/', repository.Split('/').Select(Uri.EscapeDataString));

    // 200 and 204 both mean done for a PATCH; a creation must say 201.
    private static async Task EnsureAsync(HttpResponseMessage response, HttpStatusCode expected, CancellationToken cancellationToken)
    {
        var ok = response.StatusCode == expected
            || (expected == HttpStatusCode.OK && response.StatusCode == HttpStatusCode.NoContent);
        if (!ok)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            throw new HttpRequestException(
                $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri} answered {(int)response.StatusCode} "
                + $"instead of {(int)expected}: {body}",
                inner: null,
                response.StatusCode);
        }
    }
}
