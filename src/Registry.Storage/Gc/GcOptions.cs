using System.ComponentModel.DataAnnotations;

namespace Registry.Storage.Gc;

/// <summary>Bound from <c>Registry:Gc</c>: when content that nothing uses any more is collected.</summary>
public sealed class GcOptions
{
    public const string Section = "Registry:Gc";

    /// <summary>How long a blob or manifest that lost its last reference waits before it is collected (0 allowed).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan ReviewDelay { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How long a blob that a push uploaded, mounted or checked (HEAD) in a repository stays there without a manifest
    /// using it, and how long a manifest pushed by digest stays without a tag or an index listing it: a push in
    /// progress is never broken by collection, whatever <see cref="ReviewDelay"/> says.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "3650.00:00:00")]
    public TimeSpan UploadGrace { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Whether manifests that no tag, index or subject keeps are collected (after the review delay).</summary>
    public bool DeleteUntagged { get; set; }

    /// <summary>Whether this process collects in the background; an administrator can always start a run.</summary>
    public bool Background { get; set; } = true;

    /// <summary>How often the background worker looks for reviews that are due.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "1.00:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often the background worker also walks the blob store and the metadata for what no review covers: files
    /// without records (left by a crash), and content left unused by older versions.
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How many reviews one transaction handles.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 200;

    /// <summary>How long a replica's claim on a batch of reviews lasts before another replica may take it over.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan ClaimDuration { get; set; } = TimeSpan.FromMinutes(5);
}
