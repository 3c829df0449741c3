using System.ComponentModel.DataAnnotations;

namespace Registry.Api.Nodes;

/// <summary>Bound from <c>Registry:Nodes</c>: the timing of registered nodes (docs/nodes.md, "Settings").</summary>
public sealed class NodeOptions : IValidatableObject
{
    public const string Section = "Registry:Nodes";

    /// <summary>How often agents send heartbeats; told to them at join and in each answer.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>A node not heard from for this long is NotReady.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan NotReadyAfter { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>A placed container its node has not reported for this long is failed.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "7.00:00:00")]
    public TimeSpan PendingTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Joins from clocks further off than this are refused.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long the pull tokens handed to nodes are valid.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan PullTokenLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often a replica checks the generations of the nodes whose polls it holds.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:00:10")]
    public TimeSpan WatchInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Log lines kept per container; the oldest go first.</summary>
    [Range(1, 10_000_000)]
    public int LogLinesPerContainer { get; set; } = 10_000;

    /// <summary>Whole seconds, as agents are told.</summary>
    public int HeartbeatSeconds => (int)Math.Max(1, Math.Ceiling(HeartbeatInterval.TotalSeconds));

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (NotReadyAfter <= HeartbeatInterval)
        {
            yield return new ValidationResult(
                $"{Section}:NotReadyAfter ({NotReadyAfter}) must be longer than {Section}:HeartbeatInterval ({HeartbeatInterval}), or every node would flap to NotReady",
                [nameof(NotReadyAfter)]);
        }
    }
}
