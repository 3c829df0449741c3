namespace Registry.Storage.Nodes;

// Registered nodes, the join tokens they join with, the containers the registry places on them and those
// containers' output. See docs/nodes.md for the protocol these rows serve.

/// <summary>A token an administrator makes so that machines can join as nodes. Only a hash of its secret is stored.</summary>
public sealed class NodeJoinTokenEntity
{
    public long Id { get; set; }

    /// <summary>The non-secret first part of the token, to find the row without scanning hashes.</summary>
    public required string LookupId { get; set; }

    public required byte[] SecretHash { get; set; }

    /// <summary>How many nodes may join with it.</summary>
    public int Uses { get; set; }

    /// <summary>How many have; raised in the transaction that creates the node, only while below <see cref="Uses"/>.</summary>
    public int Used { get; set; }

    public DateTime ExpiresAt { get; set; }

    public DateTime CreatedAt { get; set; }

    public string? CreatedBy { get; set; }
}

/// <summary>A machine that runs the node agent, with the credential it authenticates with (hashed) and what it reported last.</summary>
public sealed class NodeEntity
{
    public long Id { get; set; }

    /// <summary>A DNS label, unique.</summary>
    public required string Name { get; set; }

    public required string LookupId { get; set; }

    public required byte[] CredentialHash { get; set; }

    /// <summary>The node's labels as a JSON object of strings.</summary>
    public required string Labels { get; set; }

    public double Cpus { get; set; }

    public long MemoryBytes { get; set; }

    public long DiskFreeBytes { get; set; }

    public string? AgentVersion { get; set; }

    public DateTime JoinedAt { get; set; }

    /// <summary>When the registry last heard from the node, on the registry's clock.</summary>
    public DateTime LastSeenAt { get; set; }

    /// <summary>The node's clock minus the registry's at the last heartbeat.</summary>
    public double ClockSkewSeconds { get; set; }

    public bool Cordoned { get; set; }

    public bool Draining { get; set; }

    /// <summary>
    /// Grows in the same transaction as any change to what the node must run, so that a node waiting for its desired
    /// state learns of the change by comparing one number.
    /// </summary>
    public long Generation { get; set; }

    /// <summary>
    /// The memory declared by the containers placed on the node. Only changed by conditional UPDATEs that keep it at
    /// most <see cref="MemoryBytes"/>, so that two replicas placing at once never overcommit the node.
    /// </summary>
    public long AllocatedMemoryBytes { get; set; }
}

/// <summary>The state a user asked for: <see cref="Running"/> or <see cref="Stopped"/>.</summary>
public static class DesiredStates
{
    public const string Running = "running";
    public const string Stopped = "stopped";
}

/// <summary>The state the registry shows for a container, as its node reported it or as the registry decided.</summary>
public static class ContainerStates
{
    public const string Pending = "pending";
    public const string Pulling = "pulling";
    public const string Running = "running";
    public const string Exited = "exited";
    public const string Failed = "failed";

    public static readonly IReadOnlySet<string> All = new HashSet<string>(StringComparer.Ordinal) { Pending, Pulling, Running, Exited, Failed };
}

/// <summary>A container a user asked to run on a node: what to run (image resolved to a digest), where, and what was observed.</summary>
public sealed class NodeContainerEntity
{
    /// <summary>64 random hexadecimal digits.</summary>
    public required string Id { get; set; }

    public required string Name { get; set; }

    public long OwnerId { get; set; }

    /// <summary>The node it is placed on; null when it could not be placed anywhere (it is then failed).</summary>
    public long? NodeId { get; set; }

    /// <summary>Named by the user: it is never moved to another node.</summary>
    public bool Pinned { get; set; }

    /// <summary>The label selector as a JSON object, or null.</summary>
    public string? Selector { get; set; }

    /// <summary>The image reference as the user gave it.</summary>
    public required string Reference { get; set; }

    public required string Repository { get; set; }

    /// <summary>The manifest the reference named when the container was made.</summary>
    public required string Digest { get; set; }

    // JSON arrays of strings; null when not given.
    public string? Command { get; set; }

    public string? Env { get; set; }

    public string? Ports { get; set; }

    public string? Volumes { get; set; }

    /// <summary>Declared memory in bytes, reserved on the node it is placed on; null reserves none.</summary>
    public long? MemoryBytes { get; set; }

    public double? Cpus { get; set; }

    public int? Pids { get; set; }

    /// <summary>no, always, on-failure[:N] or unless-stopped.</summary>
    public required string Restart { get; set; }

    public required string Desired { get; set; }

    /// <summary>Grows with each start or restart asked for, so the agent knows to (re)start.</summary>
    public int StartSerial { get; set; }

    /// <summary>Grows each time the container is placed on a node; reports of older placements are ignored.</summary>
    public int Placement { get; set; }

    public required string State { get; set; }

    public int? ExitCode { get; set; }

    /// <summary>Restarts in all: those before the current placement plus the current node's own.</summary>
    public int RestartCount { get; set; }

    /// <summary>The restarts before the current placement, which the current node's reported restarts add to.</summary>
    public int RestartBase { get; set; }

    public string? Error { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? PlacedAt { get; set; }

    /// <summary>When its node last reported it for the current placement; null until then.</summary>
    public DateTime? ReportedAt { get; set; }

    public DateTime? StartedAt { get; set; }

    public DateTime? FinishedAt { get; set; }
}

/// <summary>A line a container wrote, stored once per (container, placement, offset).</summary>
public sealed class NodeContainerLogEntity
{
    public long Id { get; set; }

    public required string ContainerId { get; set; }

    public int Placement { get; set; }

    /// <summary>The line's byte offset in the container's log file on the node.</summary>
    public long Offset { get; set; }

    /// <summary>stdout or stderr.</summary>
    public required string Stream { get; set; }

    public DateTime Time { get; set; }

    public required string Text { get; set; }
}
