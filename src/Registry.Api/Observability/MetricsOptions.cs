using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Sockets;

namespace Registry.Api.Observability;

/// <summary>
/// Bound from <c>Registry:Metrics</c>: whether <c>/metrics</c> is served and to whom. Metrics tell how busy the
/// registry is and which routes fail, so they are not for the internet: by default only loopback and private networks
/// may read them (<see cref="DefaultNetworks"/>); everyone else gets 404, as for a page that does not exist.
/// </summary>
public sealed class MetricsOptions : IValidatableObject
{
    public const string Section = "Registry:Metrics";

    /// <summary>Loopback, and the private ranges of RFC 1918 and RFC 4193, where a Prometheus server usually runs.</summary>
    public static readonly IReadOnlyList<string> DefaultNetworks =
        ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"];

    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Networks in CIDR notation, or single addresses, whose clients may read /metrics (an entry may list several,
    /// comma-separated). Empty means <see cref="DefaultNetworks"/>; <c>0.0.0.0/0,::/0</c> opens it to everyone.
    /// </summary>
    public List<string> AllowedNetworks { get; set; } = [];

    public IReadOnlyList<IPNetwork> Networks() =>
        (Entries().Any() ? Entries() : DefaultNetworks).Select(e => Parse(e)!.Value).ToList();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var entry in Entries().Where(e => Parse(e) is null))
        {
            yield return new ValidationResult($"'{entry}' is not a network in CIDR notation (e.g. 10.0.0.0/8) or an IP address", [nameof(AllowedNetworks)]);
        }
    }

    private IEnumerable<string> Entries() =>
        AllowedNetworks.SelectMany(v => v.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static IPNetwork? Parse(string entry)
    {
        if (IPNetwork.TryParse(entry, out var network))
        {
            return network;
        }

        return IPAddress.TryParse(entry, out var address)
            ? new IPNetwork(address, address.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32)
            : null;
    }
}
