using Registry.Node.Runtime;
using Registry.Node.Runtime.Cgroups;
using Registry.Node.Runtime.Networking;
using Registry.Node.Runtime.Security;
using Registry.Node.Runtime.Volumes;

namespace Registry.Node.Agent;

/// <summary>
/// A desired container as the runtime's <see cref="RunRequest"/>: what <c>registry-node run -d</c>
/// would be given for it, parsed by the same parsers (ports, volumes, restart policy).
/// </summary>
internal static class DesiredRunRequest
{
    /// <summary>The local name of a managed container: <c>node-</c> and the first 12 digits of its id.</summary>
    public static string NameOf(string id) => "node-" + id[..12];

    /// <exception cref="ContainerConfigException">Something in the spec the runtime cannot do.</exception>
    public static RunRequest From(DesiredContainer desired, UsernsMapping? userns)
    {
        if (desired.Id.Length != 64 || !desired.Id.All(char.IsAsciiHexDigitLower))
        {
            throw new ContainerConfigException($"invalid container id '{desired.Id}': 64 lowercase hex digits expected");
        }

        // run's "-e K" takes K from its own environment; the agent's environment is never a container's.
        if (desired.Env.FirstOrDefault(e => e.IndexOf('=', StringComparison.Ordinal) <= 0) is { } bare)
        {
            throw new ContainerConfigException($"invalid environment variable '{bare}': K=V expected");
        }

        return new RunRequest
        {
            Id = desired.Id,
            Name = NameOf(desired.Id),
            Image = desired.Image,
            Command = desired.Command,
            Env = desired.Env,
            Network = NetworkMode.Bridge,
            Limits = new CgroupLimits(MemoryBytes: desired.Memory, Cpus: desired.Cpus, PidsMax: desired.Pids is null or <= 0 ? null : desired.Pids),
            Detach = true,
            Restart = Restart(desired.Restart),
            Mounts = [.. desired.Volumes.Select(MountRequest.ParseVolume)],
            Ports = [.. desired.Ports.Select(PortMapping.Parse)],
            Userns = userns,
        };
    }

    /// <summary>
    /// unless-stopped is always here: it differs from always only after a stop, and a container the
    /// registry stopped is never started again by the agent until the registry asks (startSerial).
    /// </summary>
    private static RestartPolicy Restart(string? restart) => restart switch
    {
        null or "" => RestartPolicy.No,
        "unless-stopped" => new RestartPolicy(RestartKind.Always),
        _ => RestartPolicy.Parse(restart),
    };
}
