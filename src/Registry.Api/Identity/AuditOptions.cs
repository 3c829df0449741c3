using System.ComponentModel.DataAnnotations;

namespace Registry.Api.Identity;

/// <summary>Bound from <c>Registry:Audit</c>.</summary>
public sealed class AuditOptions
{
    public const string Section = "Registry:Audit";

    /// <summary>How long audit entries are kept; older ones are removed hourly.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "36500.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(365);
}
