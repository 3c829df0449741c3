using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Registry.Node.Files;

namespace Registry.Node.Runtime.Networking;

/// <summary>
/// The node's bridge network. It lives entirely in a network namespace of the node's own; the
/// host's network namespace gets no interface, route or rule:
/// <code>
/// netns/bridge                        the namespace, kept by a bind mount of its nsfs file; holds the bridge rn0
///                                     (10.88.0.1/16) and the host ends of the containers' veth pairs
/// networks/bridge/lock                flock held while the namespace is made or removed and addresses change
/// networks/bridge/leases/&lt;address&gt;  one per attached container: its id, name and hostname, one a line
/// containers/&lt;id&gt;/hosts, hostname     bind-mounted on the container's /etc/hosts and /etc/hostname
/// </code>
/// The namespace is made when the first container attaches and removed when the last one
/// detaches (its veths go with the containers' namespaces). Every attached container's hosts
/// file lists all the attached containers by name, and is rewritten in place (the bind mount
/// holds the inode) whenever one attaches or detaches.
/// </summary>
public sealed class BridgeNetwork
{
    public const string BridgeName = "rn0";
    public const string Gateway = "10.88.0.1";
    private const int PrefixLength = 16;
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(30);

    private readonly string _nodeRoot;
    private readonly string _directory;

    public BridgeNetwork(string nodeRoot)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeRoot);
        _nodeRoot = Path.GetFullPath(nodeRoot);
        _directory = Path.Combine(_nodeRoot, "networks", "bridge");
        NamespacePath = Path.Combine(_nodeRoot, "netns", "bridge");
    }

    public string NamespacePath { get; }

    private string LeasesDirectory => Path.Combine(_directory, "leases");

    /// <summary>Makes the namespace and bridge if needed, leases an address and writes the container's hosts and hostname files.</summary>
    public async Task<BridgeAttachment> AttachAsync(string id, string name, string hostname, ContainerPaths paths, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(paths);
        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var leases = ReadLeases();
        foreach (var stale in leases.Where(l => !Directory.Exists(ContainerDirectory(l.Id))).ToList())
        {
            // A container that is gone without detaching (its registry-node was killed).
            File.Delete(Path.Combine(LeasesDirectory, stale.Address));
            leases.Remove(stale);
        }

        if (leases.Count == 0 || !NetworkSyscalls.IsNamespaceFile(NamespacePath))
        {
            // The first container on the bridge: an exec of rn-init makes the namespace and rn0.
            await EnsureNamespaceAsync(cancellationToken).ConfigureAwait(false);
        }

        var address = FirstFreeAddress(leases.Select(l => l.Address).ToHashSet(StringComparer.Ordinal));
        await NodeFiles.WritePrivateAsync(Path.Combine(LeasesDirectory, address), Encoding.UTF8.GetBytes($"{id}\n{name}\n{hostname}\n"), cancellationToken).ConfigureAwait(false);
        WriteContainerReadable(HostnameFile(id), hostname + "\n");
        leases.Add(new Lease(address, id, name, hostname));
        RewriteHostsFiles(leases);
        return new BridgeAttachment(NamespacePath, BridgeName, $"rnv{id[..10]}", $"{address}/{PrefixLength}", Gateway, address, HostsFile(id), HostnameFile(id));
    }

    /// <summary>Gives the container's address back; the namespace goes when no container is left on the bridge.</summary>
    public async Task DetachAsync(string id, CancellationToken cancellationToken)
    {
        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var leases = ReadLeases();
        foreach (var lease in leases.Where(l => l.Id == id).ToList())
        {
            File.Delete(Path.Combine(LeasesDirectory, lease.Address));
            leases.Remove(lease);
        }

        RewriteHostsFiles(leases);
        if (leases.Count == 0 && File.Exists(NamespacePath))
        {
            // The bridge and every veth end in it vanish with the namespace's last reference.
            _ = NetworkSyscalls.umount2(NamespacePath, NetworkSyscalls.MNT_DETACH);
            File.Delete(NamespacePath);
        }
    }

    private async Task EnsureNamespaceAsync(CancellationToken cancellationToken)
    {
        NodeFiles.CreatePrivateDirectory(Path.GetDirectoryName(NamespacePath)!);
        var start = new ProcessStartInfo(ContainerRunner.InitPath) { RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in new[] { "--bridge", NamespacePath, BridgeName, $"{Gateway}/{PrefixLength}" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("rn-init did not start");
        var error = await process.StandardError.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        if (process.ExitCode != 0)
        {
            throw new ContainerConfigException($"cannot set up the bridge network: {error.Trim()}");
        }
    }

    private static string FirstFreeAddress(HashSet<string> taken)
    {
        // 10.88.0.2 .. 10.88.255.254; .1 is the bridge's.
        for (var n = 2; n < 65535; n++)
        {
            var address = new IPAddress([10, 88, (byte)(n >> 8), (byte)(n & 0xFF)]).ToString();
            if (!taken.Contains(address) && (n & 0xFF) != 0xFF && (n & 0xFF) != 0)
            {
                return address;
            }
        }

        throw new ContainerConfigException("the bridge network has no free address");
    }

    private void RewriteHostsFiles(List<Lease> leases)
    {
        foreach (var lease in leases)
        {
            var text = new StringBuilder("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
            foreach (var entry in leases.OrderBy(l => l.Id == lease.Id ? 0 : 1).ThenBy(l => l.Name, StringComparer.Ordinal))
            {
                var names = entry.Hostname == entry.Name ? entry.Name : $"{entry.Hostname} {entry.Name}";
                text.Append(CultureInfo.InvariantCulture, $"{entry.Address}\t{names}\n");
            }

            try
            {
                WriteContainerReadable(HostsFile(lease.Id), text.ToString());
            }
            catch (DirectoryNotFoundException)
            {
                // being removed: its own detach gives the lease back
            }
        }
    }

    /// <summary>
    /// Writes /etc/hosts or /etc/hostname of a container in place (a running container's file is a
    /// bind mount of this very inode), 0644: every user in the container reads them. Local users
    /// on the host do not: the container's directory is 0700.
    /// </summary>
    private static void WriteContainerReadable(string path, string text)
    {
        using var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite);
        NodeFiles.MakeContainerReadable(file.SafeFileHandle);
        var bytes = Encoding.UTF8.GetBytes(text);
        file.Write(bytes);
        file.SetLength(bytes.Length);
    }

    private List<Lease> ReadLeases()
    {
        NodeFiles.CreatePrivateDirectory(LeasesDirectory);
        var leases = new List<Lease>();
        foreach (var file in Directory.EnumerateFiles(LeasesDirectory))
        {
            var lines = File.ReadAllLines(file);
            if (lines.Length >= 3 && IPAddress.TryParse(Path.GetFileName(file), out _))
            {
                leases.Add(new Lease(Path.GetFileName(file), lines[0], lines[1], lines[2]));
            }
        }

        return leases;
    }

    private async Task<IDisposable> LockAsync(CancellationToken cancellationToken)
    {
        NodeFiles.CreatePrivateDirectory(_directory);
        var path = Path.Combine(_directory, "lock");
        var deadline = DateTime.UtcNow + LockTimeout;
        while (true)
        {
            try
            {
                // On Unix, FileShare.None takes flock(LOCK_EX): released by the kernel if this process dies.
                return new FileStream(path, NodeFiles.Private(FileMode.OpenOrCreate, FileAccess.ReadWrite));
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(20), cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private string ContainerDirectory(string id) => Path.Combine(_nodeRoot, "containers", id);

    private string HostsFile(string id) => Path.Combine(ContainerDirectory(id), "hosts");

    private string HostnameFile(string id) => Path.Combine(ContainerDirectory(id), "hostname");

    private sealed record Lease(string Address, string Id, string Name, string Hostname);
}

/// <summary>A container's place on the bridge: what rn-init needs to wire it, and its files to mount.</summary>
/// <param name="AddressWithPrefix">eth0's address, e.g. 10.88.0.5/16.</param>
/// <param name="HostVeth">The veth end that stays in the bridge namespace, attached to the bridge.</param>
public sealed record BridgeAttachment(
    string NamespacePath, string Bridge, string HostVeth, string AddressWithPrefix, string Gateway, string Address, string HostsFile, string HostnameFile);
