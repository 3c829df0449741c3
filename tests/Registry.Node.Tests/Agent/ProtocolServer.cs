using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Registry.Testing;

namespace Registry.Node.Tests.Agent;

/// <summary>
/// The registry's side of the node protocol (docs/nodes.md), small and literal, on 127.0.0.1: the
/// join, the heartbeat, the desired-state long-poll and the log intake, with the documented routes,
/// JSON fields, codes and statuses. It is the other party the agent talks to, written from the
/// document rather than from the agent's code (it shares no type with it). Tests set the desired
/// state, read what arrived, and make the registry go away, lose an answer or forget the node.
/// </summary>
internal sealed partial class ProtocolServer : IAsyncDisposable
{
    private static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(2);

    private readonly HttpListener _listener = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly Lock _lock = new();
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly HashSet<string> _credentials = new(StringComparer.Ordinal);
    private readonly List<JsonObject> _joins = [];
    private readonly List<JsonObject> _heartbeats = [];
    private readonly Dictionary<(string Id, long Placement, long Offset), JsonObject> _lines = [];
    private JsonArray _desired = [];
    private long _generation = 1;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _joinUses;

    private ProtocolServer(int port)
    {
        Port = port;
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>The one join token this registry knows; it may be used <see cref="JoinTokenUses"/> times.</summary>
    public string JoinToken { get; } = "regjoin_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    public int JoinTokenUses { get; set; } = 1;

    /// <summary>Added to the server's clock, to make a node's clock look off.</summary>
    public TimeSpan ClockOffset { get; set; }

    /// <summary>While true, every node route answers 503, as a registry behind a proxy that is restarting.</summary>
    public bool Away { get; set; }

    /// <summary>The next log requests are stored but answered 503: the agent never learns of them.</summary>
    public int LoseLogAnswers { get; set; }

    /// <summary>Lines that arrived for a (container, placement, offset) already stored.</summary>
    public int DuplicateLines { get; private set; }

    public int HeartbeatSeconds { get; set; } = 1;

    public static ProtocolServer Start() => new(FreePort.Get());

    /// <summary>A node this registry knows already, as if it had joined: its credential.</summary>
    public string AddNode(string name)
    {
        var credential = "regnode_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        lock (_lock)
        {
            _names.Add(name);
            _credentials.Add(credential);
        }

        return credential;
    }

    /// <summary>Forgets every node credential, as <c>DELETE /api/v1/nodes/NAME</c> does.</summary>
    public void RemoveNodes()
    {
        lock (_lock)
        {
            _credentials.Clear();
        }
    }

    public IReadOnlyList<JsonObject> Joins
    {
        get
        {
            lock (_lock)
            {
                return [.. _joins];
            }
        }
    }

    public IReadOnlyList<JsonObject> Heartbeats
    {
        get
        {
            lock (_lock)
            {
                return [.. _heartbeats];
            }
        }
    }

    /// <summary>The stored lines of a container's placement, by offset.</summary>
    public IReadOnlyList<JsonObject> Lines(string id, long placement)
    {
        lock (_lock)
        {
            return [.. _lines.Where(l => l.Key.Id == id && l.Key.Placement == placement).OrderBy(l => l.Key.Offset).Select(l => l.Value)];
        }
    }

    /// <summary>Replaces the desired state (its containers as the document spells them) and bumps the generation.</summary>
    public void SetDesired(params JsonObject[] containers)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _desired = new JsonArray([.. containers.Select(c => (JsonNode)c.DeepClone())]);
            _generation++;
            changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        changed.TrySetResult();
    }

    /// <summary>Waits for a heartbeat that satisfies <paramref name="predicate"/>.</summary>
    public async Task<JsonObject> WaitForHeartbeatAsync(Func<JsonObject, bool> predicate, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            if (Heartbeats.LastOrDefault(predicate) is { } found)
            {
                return found;
            }

            if (DateTime.UtcNow > deadline)
            {
                var last = Heartbeats is [.., var latest] ? latest.ToJsonString() : "none";
                throw new TimeoutException($"no such heartbeat within {timeout}; the last: {last}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The state a heartbeat reports for container <paramref name="id"/>, or null.</summary>
    public static JsonObject? ContainerIn(JsonObject heartbeat, string id) =>
        heartbeat["containers"]!.AsArray().OfType<JsonObject>().FirstOrDefault(c => (string?)c["id"] == id);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or OperationCanceledException)
        {
        }

        _listener.Close();
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        try
        {
            var path = request.Url!.AbsolutePath;
            var (status, body) = (request.HttpMethod, path) switch
            {
                ("POST", "/api/v1/nodes/join") => Join(await ReadAsync(request)),
                (_, _) when path.StartsWith("/api/v1/node/", StringComparison.Ordinal) && !Authorized(request) =>
                    Error(401, "UNAUTHORIZED", "the node credential is not known to this registry"),
                (_, _) when path.StartsWith("/api/v1/node/", StringComparison.Ordinal) && Away => Error(503, "UNAVAILABLE", "the registry is restarting"),
                ("POST", "/api/v1/node/heartbeat") => Heartbeat(await ReadAsync(request)),
                ("GET", "/api/v1/node/desired") => await DesiredAsync(request),
                ("POST", "/api/v1/node/logs") => Logs(await ReadAsync(request)),
                _ => Error(404, "NOT_FOUND", $"no route {request.HttpMethod} {path}"),
            };
            var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
            context.Response.StatusCode = status;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength64 = bytes.Length;
            await context.Response.OutputStream.WriteAsync(bytes);
            context.Response.Close();
        }
        catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The agent went away mid-answer (it stopped, or gave up on a long-poll).
        }
    }

    private (int, JsonNode) Join(JsonObject body)
    {
        lock (_lock)
        {
            _joins.Add(body);
            if ((string?)body["token"] != JoinToken)
            {
                return Error(401, "JOIN_TOKEN_INVALID", "the join token is not known to this registry");
            }

            if (_joinUses >= JoinTokenUses)
            {
                return Error(401, "JOIN_TOKEN_INVALID", "the join token has been used");
            }

            var name = (string?)body["name"] ?? "";
            if (!NodeName().IsMatch(name))
            {
                return Error(400, "INVALID", $"'{name}' is not a node name: 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit");
            }

            var skew = DateTimeOffset.Parse((string)body["time"]!, CultureInfo.InvariantCulture) - Now;
            if (skew.Duration() > MaxClockSkew)
            {
                return Error(400, "CLOCK_SKEW", $"the node's clock differs from the registry's by {skew.TotalSeconds:0} s; at most {MaxClockSkew.TotalSeconds:0} s is allowed");
            }

            if (!_names.Add(name))
            {
                return Error(409, "CONFLICT", $"a node named {name} exists");
            }

            _joinUses++;
            var credential = "regnode_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
            _credentials.Add(credential);
            return (201, new JsonObject { ["name"] = name, ["credential"] = credential, ["heartbeatSeconds"] = HeartbeatSeconds, ["serverTime"] = Now.ToString("O", CultureInfo.InvariantCulture) });
        }
    }

    private (int, JsonNode) Heartbeat(JsonObject body)
    {
        lock (_lock)
        {
            _heartbeats.Add(body);
            return (200, new JsonObject
            {
                ["generation"] = _generation,
                ["serverTime"] = Now.ToString("O", CultureInfo.InvariantCulture),
                ["clockSkewSeconds"] = 0.0,
                ["heartbeatSeconds"] = HeartbeatSeconds,
            });
        }
    }

    private async Task<(int, JsonNode)> DesiredAsync(HttpListenerRequest request)
    {
        var after = long.Parse(request.QueryString["after"] ?? "-1", CultureInfo.InvariantCulture);
        var wait = int.Parse(request.QueryString["wait"] ?? "0", CultureInfo.InvariantCulture);
        Task changed;
        lock (_lock)
        {
            if (_generation != after)
            {
                return (200, DesiredBody());
            }

            changed = _changed.Task;
        }

        await Task.WhenAny(changed, Task.Delay(TimeSpan.FromSeconds(wait), _stop.Token));
        if (Away)
        {
            // Gone while the poll waited: the change is not told until the registry is back.
            return Error(503, "UNAVAILABLE", "the registry is restarting");
        }

        lock (_lock)
        {
            return (200, DesiredBody());
        }
    }

    // Under _lock.
    private JsonObject DesiredBody() => new() { ["generation"] = _generation, ["containers"] = _desired.DeepClone() };

    private (int, JsonNode) Logs(JsonObject body)
    {
        lock (_lock)
        {
            var acks = new JsonArray();
            foreach (var container in body["containers"]!.AsArray().OfType<JsonObject>())
            {
                var id = (string)container["id"]!;
                var placement = (long)container["placement"]!;
                long? acked = null;
                foreach (var line in container["lines"]!.AsArray().OfType<JsonObject>())
                {
                    var offset = (long)line["offset"]!;
                    if (!_lines.TryAdd((id, placement, offset), (JsonObject)line.DeepClone()))
                    {
                        DuplicateLines++;
                    }

                    acked = offset;
                }

                acks.Add(new JsonObject { ["id"] = id, ["placement"] = placement, ["acked"] = acked });
            }

            if (LoseLogAnswers > 0)
            {
                LoseLogAnswers--;
                return Error(503, "UNAVAILABLE", "the answer was lost");
            }

            return (200, new JsonObject { ["containers"] = acks });
        }
    }

    private bool Authorized(HttpListenerRequest request)
    {
        var header = request.Headers["Authorization"] ?? "";
        lock (_lock)
        {
            return header.StartsWith("Bearer ", StringComparison.Ordinal) && _credentials.Contains(header["Bearer ".Length..]);
        }
    }

    private DateTimeOffset Now => DateTimeOffset.UtcNow + ClockOffset;

    private static async Task<JsonObject> ReadAsync(HttpListenerRequest request)
    {
        using var reader = new StreamReader(request.InputStream, Encoding.UTF8);
        return JsonNode.Parse(await reader.ReadToEndAsync())!.AsObject();
    }

    private static (int, JsonNode) Error(int status, string code, string message) =>
        (status, new JsonObject { ["errors"] = new JsonArray(new JsonObject { ["code"] = code, ["message"] = message }) });

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial Regex NodeName();
}
