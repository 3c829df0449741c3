using System.Globalization;

namespace Registry.Node.Runtime.Networking;

/// <summary><c>-p [127.0.0.1:]HOSTPORT:CONTAINERPORT[/tcp]</c>: HOSTPORT on the host's 127.0.0.1 forwarded to the container.</summary>
public sealed record PortMapping(int HostPort, int ContainerPort)
{
    /// <exception cref="ContainerConfigException">Malformed, or asks for something only published on loopback can't give.</exception>
    public static PortMapping Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var spec = text;
        var slash = spec.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            if (spec[(slash + 1)..] != "tcp")
            {
                throw new ContainerConfigException($"invalid port specification '{text}': only tcp ports can be published");
            }

            spec = spec[..slash];
        }

        var parts = spec.Split(':');
        if (parts.Length == 3)
        {
            // Ports are published on loopback only: the host's other interfaces are never touched.
            if (parts[0] is not ("127.0.0.1" or "localhost"))
            {
                throw new ContainerConfigException($"invalid port specification '{text}': ports are published on 127.0.0.1 only");
            }

            parts = parts[1..];
        }

        return parts.Length == 2 && Port(parts[0]) is { } host && Port(parts[1]) is { } container
            ? new PortMapping(host, container)
            : throw new ContainerConfigException($"invalid port specification '{text}' (HOSTPORT:CONTAINERPORT[/tcp])");
    }

    public override string ToString() => FormattableString.Invariant($"127.0.0.1:{HostPort}->{ContainerPort}/tcp");

    private static int? Port(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535 ? port : null;
}
