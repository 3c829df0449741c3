using System.Text.Json.Serialization;

namespace Registry.Node.Runtime;

/// <summary>Where a container is in its life.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ContainerStatus>))]
public enum ContainerStatus
{
    Created,
    Running,

    /// <summary>Exited, and its supervisor waits out the back-off before starting it again.</summary>
    Restarting,
    Exited,
}

/// <summary>Why a container's process ended.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ExitReason>))]
public enum ExitReason
{
    /// <summary>It returned an exit code.</summary>
    Exited,

    /// <summary>The kernel's OOM killer ended it (its cgroup recorded an OOM kill and it died of SIGKILL).</summary>
    Oom,

    /// <summary>A signal ended it; the exit code is 128 + the signal.</summary>
    Killed,

    /// <summary>It never ran: set-up or exec failed (exit codes 125, 126, 127).</summary>
    StartFailed,
}

/// <summary>What was asked for and resolved when the container was made: <c>config.json</c>, written once.</summary>
public sealed record ContainerConfigFile(
    string Id,
    string Name,
    string Image,
    string ImageId,
    IReadOnlyList<string> ChainIds,
    IReadOnlyList<string> Args,
    IReadOnlyList<string> Env,
    string Cwd,
    uint Uid,
    uint Gid,
    IReadOnlyList<uint> AdditionalGids,
    string Hostname,
    string Network,
    long? MemoryBytes,
    double? Cpus,
    long? PidsLimit,
    bool AutoRemove,
    DateTimeOffset Created,
    string RestartPolicy = "no")
{
    /// <summary><c>--security-opt</c> as given (a seccomp profile's JSON in place of its path), as docker's HostConfig.SecurityOpt.</summary>
    public IReadOnlyList<string>? SecurityOpt { get; init; }

    /// <summary><c>--cap-add</c> and <c>--cap-drop</c> as given.</summary>
    public IReadOnlyList<string>? CapAdd { get; init; }

    public IReadOnlyList<string>? CapDrop { get; init; }

    /// <summary><c>--read-only</c>.</summary>
    public bool ReadonlyRootfs { get; init; }

    /// <summary>"remap" with user-namespace remapping, else null (docker's HostConfig.UsernsMode).</summary>
    public string? UsernsMode { get; init; }

    /// <summary>The remapping, HOSTUID:HOSTGID:COUNT.</summary>
    public string? UsernsRemap { get; init; }
}

/// <summary>The container's current state: <c>state.json</c>, rewritten whole (temp file + rename) at each change.</summary>
public sealed record ContainerStateFile
{
    public ContainerStatus Status { get; init; } = ContainerStatus.Created;

    /// <summary>The host pid of the container's pid 1 while it runs.</summary>
    public int? Pid { get; init; }

    /// <summary>The host pid of rn-init's monitor process.</summary>
    public int? MonitorPid { get; init; }

    /// <summary>The monitor's start time (field 22 of /proc/PID/stat) and the boot it ran in: with the
    /// pid they tell the monitor from a later process that reuses its pid (<see cref="MonitorProbe"/>).</summary>
    public ulong? MonitorStartTime { get; init; }

    public string? BootId { get; init; }

    /// <summary>How often the supervisor started the container again under its restart policy.</summary>
    public int RestartCount { get; init; }

    public DateTimeOffset? StartedAt { get; init; }

    public DateTimeOffset? FinishedAt { get; init; }

    public int? ExitCode { get; init; }

    public ExitReason? Reason { get; init; }

    public bool OomKilled { get; init; }

    /// <summary>Set when the container could not start: rn-init's message.</summary>
    public string? Error { get; init; }
}

/// <summary>One line of <c>container.log</c>, as docker's json-file driver writes it.</summary>
public sealed record LogLine(string Log, string Stream, DateTimeOffset Time);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ContainerConfigFile))]
[JsonSerializable(typeof(ContainerStateFile))]
internal sealed partial class ContainerJson : JsonSerializerContext;

// One line per record: no indentation.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LogLine))]
internal sealed partial class LogLineJson : JsonSerializerContext;
