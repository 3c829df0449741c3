using System.Net;
using System.Net.Sockets;

namespace Registry.Api.Identity;

/// <summary>
/// The network a client address stands for when requests and failed logins are counted: an IPv4 address itself,
/// an IPv6 address by its /64 prefix (one host usually owns a whole /64, so counting single addresses would give it
/// billions of fresh starts).
/// </summary>
public static class ClientNetwork
{
    /// <summary>What requests without a client address (a Unix socket, a test server) share.</summary>
    public const string Unknown = "-";

    public static string Of(IPAddress? address)
    {
        if (address is null)
        {
            return Unknown;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return address.ToString();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out _);
        bytes[8..].Clear();
        return new IPAddress(bytes).ToString() + "/64";
    }

    public static string Of(string? address) =>
        IPAddress.TryParse(address, out var parsed) ? Of(parsed) : address ?? Unknown;

    public static string Of(HttpContext context) => Of(context.Connection.RemoteIpAddress);
}
