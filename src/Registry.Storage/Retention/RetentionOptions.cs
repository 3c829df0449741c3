using System.ComponentModel.DataAnnotations;

namespace Registry.Storage.Retention;

/// <summary>Bound from <c>Registry:Retention</c>.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Registry:Retention";

    /// <summary>How often each replica looks for scheduled policies that are due.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan SchedulerInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long a replica holds a policy it runs; another replica takes over a run that did not finish by then.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan ClaimDuration { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often recorded pulls are written to the database.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan PullFlushInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Pulls of a manifest closer together than this are recorded once.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan PullRecordGranularity { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Manifests whose pull awaits writing, at most; further pulls before the next write are not recorded.</summary>
    [Range(100, 10_000_000)]
    public int PullBufferCapacity { get; set; } = 50_000;
}
