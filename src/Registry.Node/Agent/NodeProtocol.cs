using System.Text.Json.Serialization;

namespace Registry.Node.Agent;

// The bodies of the agent's side of docs/nodes.md, field for field. Times are ISO 8601 (the
// server compares the node's clock with its own at join and in each heartbeat).

/// <summary>What the node offers: declared to the registry at join and in each heartbeat.</summary>
internal sealed record NodeCapacity(int Cpus, long MemoryBytes, long DiskFreeBytes);

/// <summary><c>POST /api/v1/nodes/join</c>.</summary>
internal sealed record JoinRequest(
    string Token, string Name, IReadOnlyDictionary<string, string> Labels, NodeCapacity Capacity, string AgentVersion, DateTimeOffset Time);

/// <summary>The 201 answer to a join: the node's own credential.</summary>
internal sealed record JoinAnswer(string Name, string Credential, int HeartbeatSeconds, DateTimeOffset ServerTime);

/// <summary><c>POST /api/v1/node/heartbeat</c>.</summary>
internal sealed record HeartbeatRequest(NodeCapacity Capacity, string AgentVersion, DateTimeOffset Time, IReadOnlyList<ObservedContainer> Containers);

/// <summary>A managed container as the node sees it; <see cref="State"/> is one of <see cref="ContainerStates"/>.</summary>
internal sealed record ObservedContainer(
    string Id, long Placement, string State, int? ExitCode, int RestartCount, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Error);

internal static class ContainerStates
{
    public const string Pending = "pending";
    public const string Pulling = "pulling";
    public const string Running = "running";
    public const string Exited = "exited";
    public const string Failed = "failed";
}

internal sealed record HeartbeatAnswer(long Generation, DateTimeOffset ServerTime, double ClockSkewSeconds, int HeartbeatSeconds);

/// <summary>The answer to <c>GET /api/v1/node/desired</c>: everything the node should run.</summary>
internal sealed record DesiredState(long Generation, IReadOnlyList<DesiredContainer> Containers);

/// <summary>One container the registry places on this node.</summary>
internal sealed record DesiredContainer
{
    public const string Running = "running";
    public const string Stopped = "stopped";

    public required string Id { get; init; }

    public long Placement { get; init; }

    /// <summary><c>HOST/repository@sha256:…</c>: the registry's host and the digest the tag named when the container was made.</summary>
    public required string Image { get; init; }

    /// <summary>What the user asked for (<c>team/app:1</c>), for messages.</summary>
    public string? Reference { get; init; }

    public IReadOnlyList<string> Command { get; init; } = [];

    public IReadOnlyList<string> Env { get; init; } = [];

    public IReadOnlyList<string> Ports { get; init; } = [];

    public IReadOnlyList<string> Volumes { get; init; } = [];

    public long? Memory { get; init; }

    public double? Cpus { get; init; }

    public long? Pids { get; init; }

    public string? Restart { get; init; }

    public string Desired { get; init; } = Running;

    public long StartSerial { get; init; }

    public string? PullToken { get; init; }

    public DateTimeOffset? PullTokenExpiresAt { get; init; }

    // A record prints every property: never the pull token.
    public override string ToString() => $"DesiredContainer {{ Id = {Id}, Placement = {Placement}, Image = {Image}, Desired = {Desired}, StartSerial = {StartSerial} }}";
}

/// <summary><c>POST /api/v1/node/logs</c>.</summary>
internal sealed record LogsRequest(IReadOnlyList<ContainerLogBatch> Containers);

internal sealed record ContainerLogBatch(string Id, long Placement, IReadOnlyList<ShippedLogLine> Lines);

/// <param name="Offset">The line's byte offset in the container's log file on this node: with the id and placement, what the server stores it once by.</param>
internal sealed record ShippedLogLine(long Offset, string Stream, DateTimeOffset Time, string Text);

internal sealed record LogsAnswer(IReadOnlyList<LogsAcknowledgement> Containers);

/// <param name="Acked">The offset of the last line the server stored, of those sent.</param>
internal sealed record LogsAcknowledgement(string Id, long Placement, long? Acked);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(JoinRequest))]
[JsonSerializable(typeof(JoinAnswer))]
[JsonSerializable(typeof(HeartbeatRequest))]
[JsonSerializable(typeof(HeartbeatAnswer))]
[JsonSerializable(typeof(DesiredState))]
[JsonSerializable(typeof(LogsRequest))]
[JsonSerializable(typeof(LogsAnswer))]
internal sealed partial class NodeProtocolJson : JsonSerializerContext;
