using System.ComponentModel.DataAnnotations;

namespace Registry.Api.Auth;

/// <summary>
/// Bound from <c>Registry:RateLimit</c>: how many requests the surfaces that check credentials (the token endpoint,
/// the REST API, <c>docker search</c>, the sign-in and sign-up forms) take per <see cref="Window"/>, from one client
/// network and from everyone together. The registry API itself (/v2) is not limited.
/// </summary>
public sealed class RateLimitOptions
{
    public const string Section = "Registry:RateLimit";

    /// <summary>Requests from one client network (an IPv4 address, an IPv6 /64) per window.</summary>
    [Range(1, 10_000_000)]
    public int PerAddressLimit { get; set; } = 300;

    /// <summary>Requests from all clients together per window.</summary>
    [Range(1, 100_000_000)]
    public int GlobalLimit { get; set; } = 3000;

    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);
}
