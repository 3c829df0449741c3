using System.ComponentModel.DataAnnotations;
using System.Net;

namespace Registry.Api.Hosting;

/// <summary>
/// Bound from <c>Registry:Proxy</c>: the reverse proxies in front of the registry. Only a request whose connection
/// comes from one of them has its <c>X-Forwarded-For</c> (the client's address, for login throttling and the audit
/// log) and <c>X-Forwarded-Proto</c> (the scheme of URLs handed out) believed; from anyone else those headers are
/// ignored. With neither list set, no forwarded header is believed at all.
/// </summary>
public sealed class ProxyOptions : IValidatableObject
{
    public const string Section = "Registry:Proxy";

    /// <summary>Addresses of trusted proxies, e.g. <c>10.0.0.5</c> or <c>::1</c> (an entry may list several, comma-separated).</summary>
    public List<string> KnownProxies { get; set; } = [];

    /// <summary>Networks of trusted proxies in CIDR notation, e.g. <c>10.0.0.0/8</c> (an entry may list several, comma-separated).</summary>
    public List<string> KnownNetworks { get; set; } = [];

    /// <summary>How many proxies, at most, are taken off the end of <c>X-Forwarded-For</c> (each must be trusted).</summary>
    [Range(1, 10)]
    public int ForwardLimit { get; set; } = 1;

    public bool Enabled => KnownProxies.Count > 0 || KnownNetworks.Count > 0;

    public IEnumerable<IPAddress> Proxies() => Entries(KnownProxies).Select(IPAddress.Parse);

    public IEnumerable<IPNetwork> Networks() => Entries(KnownNetworks).Select(e => IPNetwork.Parse(e));

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var entry in Entries(KnownProxies).Where(e => !IPAddress.TryParse(e, out _)))
        {
            yield return new ValidationResult($"'{entry}' is not an IP address", [nameof(KnownProxies)]);
        }

        foreach (var entry in Entries(KnownNetworks).Where(e => !IPNetwork.TryParse(e, out _)))
        {
            yield return new ValidationResult($"'{entry}' is not a network in CIDR notation (e.g. 10.0.0.0/8)", [nameof(KnownNetworks)]);
        }
    }

    private static IEnumerable<string> Entries(IEnumerable<string> values) =>
        values.SelectMany(v => v.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
