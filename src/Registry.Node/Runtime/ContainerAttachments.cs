using System.Text.Json;
using System.Text.Json.Serialization;
using Registry.Node.Runtime.Networking;
using Registry.Node.Runtime.Volumes;

namespace Registry.Node.Runtime;

/// <summary>
/// What a container is attached to besides its image: volumes, the bridge network and the
/// forwarder of its published ports. Made after the container's directory and before rn-init
/// starts; disposing undoes it (the forwarder stops, the address goes back) and leaves the
/// volumes. Recorded in the container's directory, so that whoever owns the container later
/// (a supervisor for <c>-d</c>) finds them:
/// <code>
/// containers/&lt;id&gt;/mounts.json    the -v and --tmpfs mounts (a volume named there is in use)
/// containers/&lt;id&gt;/network.json   the network, the container's address, its published ports and the forwarder's pid
/// </code>
/// </summary>
internal sealed class ContainerAttachments : IAsyncDisposable
{
    private readonly List<(string Key, string Value)> _spec = [];
    private BridgeNetwork? _network;
    private string? _id;
    private PortForwarder? _forwarder;

    private ContainerAttachments()
    {
    }

    /// <summary>rn-init's spec entries for the network and the mounts.</summary>
    public IReadOnlyList<(string Key, string Value)> SpecEntries => _spec;

    /// <summary>Refuses what cannot work, before anything is made.</summary>
    /// <exception cref="ContainerConfigException">The request is inconsistent or a bind source is missing.</exception>
    public static void Validate(RunRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Ports.Count > 0 && request.Network != NetworkMode.Bridge)
        {
            throw new ContainerConfigException($"published ports need the bridge network, not {request.Network.ToString().ToLowerInvariant()}");
        }

        if (request.Ports.GroupBy(p => p.HostPort).FirstOrDefault(g => g.Count() > 1) is { } twice)
        {
            throw new ContainerConfigException($"Bind for 127.0.0.1:{twice.Key} failed: port is published twice");
        }

        if (request.Mounts.GroupBy(m => m.Target, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1) is { } duplicate)
        {
            throw new ContainerConfigException($"Duplicate mount point: {duplicate.Key}");
        }

        foreach (var bind in request.Mounts.Where(m => m.Kind == MountKind.Bind))
        {
            if (!Path.Exists(bind.Source))
            {
                throw new ContainerConfigException($"invalid mount config for type \"bind\": bind source path does not exist: {bind.Source}");
            }

            if (bind.Source.AsSpan().IndexOfAny('\0', '\n') >= 0)
            {
                throw new ContainerConfigException($"invalid bind source path {bind.Source}");
            }
        }
    }

    public static async Task<ContainerAttachments> AttachAsync(
        string nodeRoot, string id, string name, string hostname, ContainerPaths paths, RunRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(paths);
        ArgumentNullException.ThrowIfNull(request);
        var attachments = new ContainerAttachments();
        try
        {
            string? address = null;
            if (request.Network == NetworkMode.Bridge)
            {
                attachments._network = new BridgeNetwork(nodeRoot);
                attachments._id = id;
                var bridge = await attachments._network.AttachAsync(id, name, hostname, paths, cancellationToken).ConfigureAwait(false);
                address = bridge.Address;
                attachments._spec.AddRange(
                [
                    ("bridge_netns", bridge.NamespacePath), ("bridge_name", bridge.Bridge), ("bridge_veth", bridge.HostVeth),
                    ("bridge_address", bridge.AddressWithPrefix), ("bridge_gateway", bridge.Gateway),
                ]);
                attachments.AddMount("bind", bridge.HostsFile, "/etc/hosts", "");
                attachments.AddMount("bind", bridge.HostnameFile, "/etc/hostname", "");
            }

            if (request.Mounts.Count > 0)
            {
                var volumes = new VolumeStore(nodeRoot);
                ContainerMounts.Write(Path.Combine(paths.Directory, ContainerMounts.FileName), request.Mounts);
                // Parents before children, as docker orders them: /data before /data/cache.
                foreach (var mount in request.Mounts.OrderBy(m => m.Target.Count(c => c == '/')).ThenBy(m => m.Target, StringComparer.Ordinal))
                {
                    var options = mount.ReadOnly ? "ro" : "";
                    switch (mount.Kind)
                    {
                        case MountKind.Volume:
                            // A volume made for a remapped container belongs to its root, as with docker's userns-remap.
                            if (volumes.Create(mount.Source) && request.Userns is { } userns
                                && RuntimeSyscalls.lchown(volumes.DataPath(mount.Source), userns.HostUid, userns.HostGid) != 0)
                            {
                                throw new IOException($"cannot give volume {mount.Source} to the container's root (errno {System.Runtime.InteropServices.Marshal.GetLastPInvokeError()})");
                            }

                            attachments.AddMount("bind", volumes.DataPath(mount.Source), mount.Target, options);
                            break;
                        case MountKind.Bind:
                            attachments.AddMount("bind", mount.Source, mount.Target, options);
                            break;
                        default:
                            attachments.AddMount("tmpfs", "", mount.Target, string.Join(',', new[] { options, mount.TmpfsOptions }.Where(o => o.Length > 0)));
                            break;
                    }
                }
            }

            // A detached container's forwarder is started with its supervisor, which owns it (ContainerRunner.Supervised.cs).
            if (request.Ports.Count > 0 && !request.Detach)
            {
                attachments._forwarder = await PortForwarder.StartAsync(attachments._network!.NamespacePath, address!, request.Ports, cancellationToken).ConfigureAwait(false);
            }

            var record = new ContainerNetworkFile(request.Network.ToString().ToLowerInvariant(), address, [.. request.Ports], attachments._forwarder?.Pid)
            {
                ForwarderStartTime = attachments._forwarder is { } forwarder ? MonitorProbe.StartTime(forwarder.Pid) : null,
            };
            WriteNetwork(paths, record);
            return attachments;
        }
        catch
        {
            await attachments.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_forwarder is not null)
        {
            await _forwarder.DisposeAsync().ConfigureAwait(false);
            _forwarder = null;
        }

        if (_network is not null)
        {
            await _network.DetachAsync(_id!, CancellationToken.None).ConfigureAwait(false);
            _network = null;
        }
    }

    /// <summary>The container's network.json; null for a container made before it existed.</summary>
    public static ContainerNetworkFile? ReadNetwork(ContainerPaths paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var path = Path.Combine(paths.Directory, ContainerNetworkFile.FileName);
        return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllBytes(path), AttachmentJson.Default.ContainerNetworkFile) : null;
    }

    public static void WriteNetwork(ContainerPaths paths, ContainerNetworkFile record)
    {
        ArgumentNullException.ThrowIfNull(paths);
        Files.NodeFiles.WritePrivate(
            Path.Combine(paths.Directory, ContainerNetworkFile.FileName),
            JsonSerializer.SerializeToUtf8Bytes(record, AttachmentJson.Default.ContainerNetworkFile));
    }

    private void AddMount(string kind, string source, string target, string options)
    {
        _spec.Add(("mount", kind));
        if (source.Length > 0)
        {
            _spec.Add(("mount_source", source));
        }

        _spec.Add(("mount_target", target));
        _spec.Add(("mount_options", options));
    }
}

/// <summary><c>containers/&lt;id&gt;/network.json</c>.</summary>
/// <param name="ForwarderPid">The pid of <c>rn-init --forward</c> while the container runs with published ports.</param>
public sealed record ContainerNetworkFile(string Network, string? Address, IReadOnlyList<PortMapping> Ports, int? ForwarderPid)
{
    public const string FileName = "network.json";

    /// <summary>The forwarder's start time (as <see cref="MonitorProbe.StartTime"/>), so that a reused pid is not taken for it.</summary>
    public ulong? ForwarderStartTime { get; init; }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ContainerNetworkFile))]
internal sealed partial class AttachmentJson : JsonSerializerContext;
