using System.Net;
using System.Net.Sockets;

namespace Registry.Testing;

/// <summary>Finds a TCP port on 127.0.0.1 that nothing listens on right now.</summary>
public static class FreePort
{
    public static int Get()
    {
        // The kernel picks an unused ephemeral port; the small window until the server binds
        // it is accepted (servers that lose the race fail their readiness wait loudly).
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
