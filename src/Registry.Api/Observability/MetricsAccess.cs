using System.Net;
using Microsoft.Extensions.Options;
using Registry.Api.Hosting;

namespace Registry.Api.Observability;

/// <summary>
/// Who may read <c>/metrics</c>: a client whose address is in <see cref="MetricsOptions.AllowedNetworks"/>. The
/// address is the one the connection came from, or, when it came from a trusted proxy (<see cref="ProxyOptions"/>), the
/// client address that proxy forwarded: behind a proxy on a private network every connection comes from a private
/// address, and judging by it would open /metrics to the internet through the proxy. X-Forwarded-For from anyone else
/// is never believed (<see cref="ProxyHeaders"/>), so a client cannot name itself an allowed address; and a request
/// through a trusted proxy that forwarded no client address is refused, as its client is unknown.
/// </summary>
public sealed class MetricsAccess(IOptions<MetricsOptions> options)
{
    /// <summary>The header in which ASP.NET's forwarded-headers middleware keeps the proxy's address once it took the client's.</summary>
    private const string OriginalForHeader = "X-Original-For";

    private readonly IReadOnlyList<IPNetwork> _networks = options.Value.Networks();

    public bool Allows(HttpContext context)
    {
        if (ProxyHeaders.CameThroughTrustedProxy(context) && !context.Request.Headers.ContainsKey(OriginalForHeader))
        {
            return false;
        }

        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return _networks.Any(n => n.Contains(address));
    }
}
