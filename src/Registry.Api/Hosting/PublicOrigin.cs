using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.HostFiltering;
using Microsoft.Extensions.Options;

namespace Registry.Api.Hosting;

/// <summary>
/// The scheme, host and path base under which clients reach the registry, for the URLs it hands out (the token
/// realm of a challenge): <c>Registry:PublicUrl</c> when it is set (<see cref="PublicUrlOptions"/>), the same for every
/// request and every replica. Otherwise it is derived from the request. The Host header is the client's to choose, so it is used only
/// when it can be trusted: <c>AllowedHosts</c> names the registry's hosts (requests for any other host are refused
/// before they get here), or the request came through a trusted proxy. Otherwise the address the connection was
/// accepted on is used, which no client can choose. The scheme is the connection's, or a trusted proxy's
/// <c>X-Forwarded-Proto</c>.
/// </summary>
public static class PublicOrigin
{
    public static string Of(HttpContext context)
    {
        if (context.RequestServices.GetRequiredService<IOptions<PublicUrlOptions>>().Value.Origin is { } configured)
        {
            return configured;
        }

        var request = context.Request;
        return $"{request.Scheme}://{Authority(context)}{request.PathBase}";
    }

    private static string Authority(HttpContext context)
    {
        var hosts = context.RequestServices.GetRequiredService<IOptions<HostFilteringOptions>>().Value.AllowedHosts;
        var restricted = hosts is { Count: > 0 } && !hosts.Contains("*");
        var connection = context.Connection;
        if (restricted || ProxyHeaders.CameThroughTrustedProxy(context) || connection.LocalIpAddress is null)
        {
            return context.Request.Host.Value ?? "localhost";
        }

        var address = connection.LocalIpAddress.IsIPv4MappedToIPv6 ? connection.LocalIpAddress.MapToIPv4() : connection.LocalIpAddress;

        // Without a zone index (fe80::1%2): it has no place in a URL.
        var host = address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{new IPAddress(address.GetAddressBytes())}]" : address.ToString();
        var port = connection.LocalPort;
        return IsDefaultPort(context.Request.Scheme, port) ? host : $"{host}:{port}";
    }

    private static bool IsDefaultPort(string scheme, int port) =>
        (port == 80 && scheme == Uri.UriSchemeHttp) || (port == 443 && scheme == Uri.UriSchemeHttps);
}
