namespace Registry.Api.Nodes;

// The JSON the agent and the registry exchange (docs/nodes.md). Requests are read leniently (every field nullable)
// and checked by the services, so that a missing field gets a message that names it.

public sealed record CapacityBody(double? Cpus, long? MemoryBytes, long? DiskFreeBytes);

public sealed record JoinBody(
    string? Token, string? Name, Dictionary<string, string>? Labels, CapacityBody? Capacity, string? AgentVersion, DateTimeOffset? Time);

public sealed record JoinAnswer(string Name, string Credential, int HeartbeatSeconds, DateTime ServerTime);

public sealed record ContainerReport(
    string? Id, int? Placement, string? State, int? ExitCode, int? RestartCount, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Error);

public sealed record HeartbeatBody(CapacityBody? Capacity, string? AgentVersion, DateTimeOffset? Time, List<ContainerReport>? Containers);

public sealed record HeartbeatAnswer(long Generation, DateTime ServerTime, double ClockSkewSeconds, int HeartbeatSeconds);

public sealed record DesiredContainer(
    string Id,
    int Placement,
    string Image,
    string Reference,
    IReadOnlyList<string>? Command,
    IReadOnlyList<string> Env,
    IReadOnlyList<string> Ports,
    IReadOnlyList<string> Volumes,
    long? Memory,
    double? Cpus,
    int? Pids,
    string Restart,
    string Desired,
    int StartSerial,
    string PullToken,
    DateTime PullTokenExpiresAt);

public sealed record DesiredAnswer(long Generation, IReadOnlyList<DesiredContainer> Containers);

public sealed record LogLineBody(long? Offset, string? Stream, DateTimeOffset? Time, string? Text);

public sealed record ContainerLogsBody(string? Id, int? Placement, List<LogLineBody>? Lines);

public sealed record LogsBody(List<ContainerLogsBody>? Containers);

public sealed record LogAck(string Id, int Placement, long? Acked);

public sealed record LogsAnswer(IReadOnlyList<LogAck> Containers);
