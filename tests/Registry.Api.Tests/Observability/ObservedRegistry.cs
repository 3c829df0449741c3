using System.Net;
using System.Net.Sockets;
using Registry.Testing;

namespace Registry.Api.Tests.Observability;

/// <summary>Clients for a registry process that add nothing to the requests, from 127.0.0.1 or another loopback address.</summary>
internal static class ObservedRegistry
{
    public static HttpClient PlainClient(RegistryProcess registry) =>
        new(new SocketsHttpHandler { AllowAutoRedirect = false }) { BaseAddress = registry.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>
    /// A client whose connections come from <paramref name="source"/> (127.0.0.2, …), as a client on another machine's
    /// would: Linux answers on all of 127.0.0.0/8, so the traffic still stays on this host.
    /// </summary>
    public static HttpClient ClientFrom(RegistryProcess registry, IPAddress source)
    {
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectCallback = async (context, ct) =>
            {
                var socket = new Socket(source.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(IPAddress.Parse(context.DnsEndPoint.Host), context.DnsEndPoint.Port, ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = registry.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }
}
