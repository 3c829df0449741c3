using Registry.Node.Runtime.Cgroups;
using Registry.Node.Runtime.Networking;
using Registry.Node.Runtime.Volumes;

namespace Registry.Node.Runtime;

public enum NetworkMode
{
    /// <summary>A network namespace of its own with only loopback (docker's <c>--network none</c>).</summary>
    None,

    /// <summary>The host's network namespace.</summary>
    Host,

    /// <summary>The node's bridge: a veth to <c>rn0</c> in the node's own network namespace (Networking/BridgeNetwork.cs).</summary>
    Bridge,
}

/// <summary>What <c>run</c> was asked for, before the image's defaults are applied.</summary>
public sealed record RunRequest
{
    public required string Image { get; init; }

    /// <summary>CMD override: the arguments after IMAGE.</summary>
    public IReadOnlyList<string> Command { get; init; } = [];

    /// <summary><c>--entrypoint</c>: one executable; "" clears the image's entrypoint.</summary>
    public string? Entrypoint { get; init; }

    /// <summary><c>-e K=V</c> (or <c>-e K</c>: the value from this process's environment, if set).</summary>
    public IReadOnlyList<string> Env { get; init; } = [];

    public string? WorkingDir { get; init; }

    public string? User { get; init; }

    /// <summary>The container's id (64 lowercase hex digits); null for a new random one. The node agent
    /// gives the id the registry knows the container by, so that both name it alike.</summary>
    public string? Id { get; init; }

    public string? Name { get; init; }

    public string? Hostname { get; init; }

    /// <summary>docker's default: the bridge.</summary>
    public NetworkMode Network { get; init; } = NetworkMode.Bridge;

    public CgroupLimits Limits { get; init; } = CgroupLimits.None;

    /// <summary><c>--rm</c>: remove the container when it exits.</summary>
    public bool Remove { get; init; }

    /// <summary><c>-d</c>: rn-init supervises the container; <see cref="ContainerRunner.RunAsync"/> returns once it runs.</summary>
    public bool Detach { get; init; }

    public RestartPolicy Restart { get; init; } = RestartPolicy.No;

    /// <summary><c>-v</c> and <c>--tmpfs</c>.</summary>
    public IReadOnlyList<MountRequest> Mounts { get; init; } = [];

    /// <summary><c>-p</c>: only with <see cref="NetworkMode.Bridge"/>.</summary>
    public IReadOnlyList<PortMapping> Ports { get; init; } = [];

    /// <summary><c>--security-opt</c>, with a seccomp profile's JSON in place of its path (Security/SecurityOptions.cs).</summary>
    public IReadOnlyList<string> SecurityOpt { get; init; } = [];

    /// <summary><c>--cap-add</c> and <c>--cap-drop</c>: names with or without <c>CAP_</c>, or <c>ALL</c> (Security/Capabilities.cs).</summary>
    public IReadOnlyList<string> CapAdd { get; init; } = [];

    public IReadOnlyList<string> CapDrop { get; init; } = [];

    /// <summary><c>--read-only</c>: the root filesystem is mounted read-only; /dev, /proc, volumes and tmpfs mounts are not.</summary>
    public bool ReadOnlyRootfs { get; init; }

    /// <summary>User-namespace remapping (<c>--userns remap</c>, or the node's default): null runs in the host's user namespace.</summary>
    internal Security.UsernsMapping? Userns { get; init; }
}

/// <summary>A container's process, fully resolved: what rn-init is told to run.</summary>
public sealed record ProcessSpec(IReadOnlyList<string> Args, IReadOnlyList<string> Env, string Cwd, ContainerUser User, string Hostname);
