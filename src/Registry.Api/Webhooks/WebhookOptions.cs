using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace Registry.Api.Webhooks;

/// <summary>Bound from <c>Registry:Webhooks</c>.</summary>
public sealed class WebhookOptions : IValidatableObject
{
    public const string Section = "Registry:Webhooks";

    /// <summary>How long one attempt may take, connecting included; a receiver slower than this has failed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Attempts per delivery, the first included; after the last failure the delivery is failed for good.</summary>
    [Range(1, 50)]
    public int MaxAttempts { get; set; } = 6;

    /// <summary>
    /// The waits before the second, third, … attempt, comma-separated TimeSpans; the last one repeats when there are
    /// more attempts than waits.
    /// </summary>
    [Required]
    public string RetryDelays { get; set; } = "00:00:10,00:01:00,00:05:00,00:30:00,02:00:00";

    /// <summary>How many deliveries one replica sends at the same time.</summary>
    [Range(1, 256)]
    public int MaxConcurrency { get; set; } = 8;

    /// <summary>How often a replica looks for due deliveries when it has none.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long deliveries and their attempts are kept.</summary>
    [Range(typeof(TimeSpan), "01:00:00", "3650.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    [Range(1, 1000)]
    public int MaxPerNamespace { get; set; } = 20;

    /// <summary>Pull events waiting to be recorded; when the buffer is full further pulls are not reported (and counted).</summary>
    [Range(16, 1_000_000)]
    public int PullBufferSize { get; set; } = 10_000;

    /// <summary>
    /// Hosts webhook URLs may name (exact host names or IP addresses, or <c>*.example.com</c>); empty allows every host.
    /// Webhooks are sent from the registry's own network, so on a server that can reach internal services an
    /// administrator may want to limit them.
    /// </summary>
    public string[] AllowedHosts { get; set; } = [];

    public IReadOnlyList<TimeSpan> Delays() =>
        RetryDelays.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(d => TimeSpan.Parse(d, CultureInfo.InvariantCulture))
            .ToList();

    /// <summary>The wait after the <paramref name="attempts"/>-th failed attempt, or null when there is no attempt left.</summary>
    public TimeSpan? DelayAfter(int attempts)
    {
        if (attempts >= MaxAttempts)
        {
            return null;
        }

        var delays = Delays();
        return delays[Math.Min(attempts, delays.Count) - 1];
    }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        var parts = RetryDelays.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0 || parts.Any(p => !TimeSpan.TryParse(p, CultureInfo.InvariantCulture, out var d) || d < TimeSpan.Zero))
        {
            yield return new ValidationResult($"{Section}:RetryDelays must be comma-separated non-negative TimeSpans (e.g. 00:00:10,00:01:00)", [nameof(RetryDelays)]);
        }

        if (AllowedHosts.Any(string.IsNullOrWhiteSpace))
        {
            yield return new ValidationResult($"{Section}:AllowedHosts must not hold empty names", [nameof(AllowedHosts)]);
        }
    }
}
