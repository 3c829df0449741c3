using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Registry.Testing;

namespace Registry.E2E.Tests.Replicas;

/// <summary>Raw HTTP to one replica with a registry token that may have been issued by another.</summary>
internal sealed class ReplicaHttp : IDisposable
{
    private readonly HttpClient _http;

    public ReplicaHttp(RegistryProcess replica, string token)
    {
        Replica = replica;
        _http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false })
        {
            BaseAddress = replica.BaseAddress,
            Timeout = TimeSpan.FromMinutes(3),
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public RegistryProcess Replica { get; }

    /// <summary>A registry token for push and pull on <paramref name="repository"/>, from <paramref name="issuer"/>'s token endpoint.</summary>
    public static async Task<string> TokenAsync(RegistryProcess issuer, string repository, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = issuer.BaseAddress };
        using var request = new HttpRequestMessage(
            HttpMethod.Get, $"/auth/token?service=registry&scope={Uri.EscapeDataString($"repository:{repository}:pull,push")}");
        request.Headers.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{issuer.Admin.Username}:{issuer.Admin.Password}")));
        using var response = await http.SendAsync(request, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        return json.RootElement.GetProperty("token").GetString()!;
    }

    public static string Digest(byte[] content) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(content));

    public Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, byte[]? body = null, string? contentRange = null, CancellationToken ct = default) =>
        SendAsync(method, path, body is null ? null : new ByteArrayContent(body), contentRange, ct);

    /// <summary>Sends <paramref name="content"/> (disposed with the request) as an octet stream.</summary>
    public async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, string? contentRange, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        if (content is not null)
        {
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            if (contentRange is not null)
            {
                content.Headers.TryAddWithoutValidation("Content-Range", contentRange);
            }
        }

        return await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
    }

    /// <summary>POST …/blobs/uploads/: the new session's Location.</summary>
    public async Task<string> StartUploadAsync(string repository, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/", ct: ct);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        return response.Headers.Location!.ToString();
    }

    /// <summary>PATCH of bytes [start, start + chunk.Length) to the session; the next Location.</summary>
    public async Task<string> PatchAsync(string location, byte[] chunk, long start, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Patch, location, chunk, $"{start}-{start + chunk.Length - 1}", ct);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"PATCH on {Replica.HostPort}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
        Assert.Equal($"0-{start + chunk.Length - 1}", response.Headers.GetValues("Range").Single());
        return response.Headers.Location!.ToString();
    }

    /// <summary>PUT …?digest= that completes the session, with no body.</summary>
    public Task<HttpResponseMessage> CompleteAsync(string location, string digest, CancellationToken ct) =>
        SendAsync(HttpMethod.Put, $"{location}{(location.Contains('?', StringComparison.Ordinal) ? '&' : '?')}digest={digest}", ct: ct);

    /// <summary>The blob's bytes as served by this replica (following no redirect), or null with the status.</summary>
    public async Task<(HttpStatusCode Status, byte[]? Content)> GetBlobAsync(string repository, string digest, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, $"/v2/{repository}/blobs/{digest}", ct: ct);
        return response.StatusCode == HttpStatusCode.OK
            ? (response.StatusCode, await response.Content.ReadAsByteArrayAsync(ct))
            : (response.StatusCode, null);
    }

    public void Dispose() => _http.Dispose();
}
