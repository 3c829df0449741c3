using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Registry.Node.Client;

namespace Registry.Node.Agent;

/// <summary>
/// The agent's calls to its registry (docs/nodes.md): the join, without credentials, and the node
/// routes with the node's credential as a bearer token. Only outbound requests: the registry never
/// connects to a node. Each call is one attempt; <see cref="ServerRetry"/> repeats them.
/// </summary>
internal sealed class NodeServerClient : IDisposable
{
    private const int MaxAnswerBytes = 16 * 1024 * 1024;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly HttpClient _http;
    private readonly string? _credential;

    /// <param name="credential">The node's credential; null for the join.</param>
    public NodeServerClient(Uri server, string? credential, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        Server = server;
        _credential = credential;
        // A path prefix (https://example.com/registry/) stays: the routes are relative to it.
        var baseAddress = server.AbsoluteUri.EndsWith('/') ? server : new Uri(server.AbsoluteUri + "/");
        _http = new HttpClient(handler ?? new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10), PooledConnectionIdleTimeout = TimeSpan.FromSeconds(60) })
        {
            BaseAddress = baseAddress,
            // Per-request limits instead: a long-poll lasts as long as it asked to wait.
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("registry-node", AgentVersion.Value.Split('+')[0]));
    }

    public Uri Server { get; }

    public Task<JoinAnswer> JoinAsync(JoinRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, "api/v1/nodes/join", request, NodeProtocolJson.Default.JoinRequest, NodeProtocolJson.Default.JoinAnswer, RequestTimeout, cancellationToken);

    public Task<HeartbeatAnswer> HeartbeatAsync(HeartbeatRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, "api/v1/node/heartbeat", request, NodeProtocolJson.Default.HeartbeatRequest, NodeProtocolJson.Default.HeartbeatAnswer, RequestTimeout, cancellationToken);

    /// <summary>The desired state: at once when the node's generation is not <paramref name="after"/>, else within <paramref name="waitSeconds"/>.</summary>
    public Task<DesiredState> GetDesiredAsync(long after, int waitSeconds, CancellationToken cancellationToken) =>
        SendAsync<object, DesiredState>(
            HttpMethod.Get,
            string.Create(CultureInfo.InvariantCulture, $"api/v1/node/desired?after={after}&wait={waitSeconds}"),
            null,
            null,
            NodeProtocolJson.Default.DesiredState,
            RequestTimeout + TimeSpan.FromSeconds(waitSeconds),
            cancellationToken);

    public Task<LogsAnswer> PostLogsAsync(LogsRequest request, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, "api/v1/node/logs", request, NodeProtocolJson.Default.LogsRequest, NodeProtocolJson.Default.LogsAnswer, RequestTimeout, cancellationToken);

    public void Dispose() => _http.Dispose();

    private async Task<TAnswer> SendAsync<TBody, TAnswer>(
        HttpMethod method, string route, TBody? body, JsonTypeInfo<TBody>? bodyType, JsonTypeInfo<TAnswer> answerType, TimeSpan timeout, CancellationToken cancellationToken)
        where TAnswer : class
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        using var request = new HttpRequestMessage(method, route);
        if (_credential is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _credential);
        }

        if (body is not null && bodyType is not null)
        {
            request.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, bodyType));
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        var what = $"{method} {new Uri(_http.BaseAddress!, route).GetLeftPart(UriPartial.Path)}";
        try
        {
            using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, limit.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                var (code, message) = await HttpBodies.ReadErrorAsync(response, limit.Token).ConfigureAwait(false);
                var status = (int)response.StatusCode;
                if (response.StatusCode == HttpStatusCode.Unauthorized && _credential is not null)
                {
                    throw new NodeCredentialRejectedException(message ?? "401 Unauthorized");
                }

                throw new NodeServerException(status, code, message, message is null
                    ? string.Create(CultureInfo.InvariantCulture, $"{what} answered {status}")
                    : string.Create(CultureInfo.InvariantCulture, $"{what} answered {status}: {message}"));
            }

            var bytes = await HttpBodies.ReadBoundedAsync(response.Content, MaxAnswerBytes, $"the answer to {what}", limit.Token).ConfigureAwait(false);
            return JsonSerializer.Deserialize(bytes, answerType) ?? throw new NodeServerException((int)response.StatusCode, null, null, $"{what} answered an empty body");
        }
        catch (HttpRequestException e)
        {
            throw new NodeServerUnreachableException($"cannot reach {Server}: {e.Message}", e);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new NodeServerUnreachableException($"{what} got no answer within {timeout.TotalSeconds:0} s", e);
        }
        catch (JsonException e)
        {
            throw new NodeServerException(0, null, null, $"{what} answered something that is not the documented JSON: {e.Message}");
        }
        catch (RegistryClientException e)
        {
            throw new NodeServerException(0, null, null, e.Message);
        }
    }
}

/// <summary>The registry answered with an error (<c>{"errors":[{"code","message"}]}</c>).</summary>
internal sealed class NodeServerException(int status, string? code, string? serverMessage, string message) : Exception(message)
{
    public int Status { get; } = status;

    /// <summary>JOIN_TOKEN_INVALID, CONFLICT, CLOCK_SKEW, INVALID, …</summary>
    public string? Code { get; } = code;

    /// <summary>The error's message as the registry wrote it.</summary>
    public string? ServerMessage { get; } = serverMessage;
}

/// <summary>The registry could not be reached, or did not answer in time.</summary>
internal sealed class NodeServerUnreachableException(string message, Exception inner) : Exception(message, inner);

/// <summary>A node route answered 401: the registry no longer knows this node's credential (the node was removed).</summary>
internal sealed class NodeCredentialRejectedException(string message) : Exception(message);

/// <summary>A failure of join or agent that is reported as one line and exit code 1.</summary>
internal sealed class AgentException(string message) : Exception(message);

/// <summary>registry-node's version, as the agent reports it: the assembly's informational version.</summary>
internal static class AgentVersion
{
    public static string Value { get; } =
        typeof(AgentVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown";
}
