using System.Text.Json;
using System.Text.RegularExpressions;
using Registry.Node.Files;

namespace Registry.Node.Runtime;

/// <summary>
/// The node's containers on disk:
/// <code>
/// containers/&lt;id&gt;/config.json     what was asked for and resolved (image, process, limits); written once
/// containers/&lt;id&gt;/state.json      status, pids, exit code and reason, restart count; replaced whole at each change
///                                 (by registry-node, or by rn-init while it supervises a detached container)
/// containers/&lt;id&gt;/stop-requested  made by stop and rm -f: the supervisor starts the container no more
/// containers/&lt;id&gt;/exec-*.spec     rn-init --exec's instructions, while an exec runs
/// containers/&lt;id&gt;/container.log   stdout and stderr, one JSON object per line (docker's json-file format)
/// containers/&lt;id&gt;/init.spec       rn-init's instructions (NUL-separated key=value)
/// containers/&lt;id&gt;/rootfs/         the overlay mount point (mounted only inside the container's mount namespace)
/// containers/&lt;id&gt;/upper/ work/    the overlay's writable layer and its work directory
/// containers/.names/&lt;name&gt;        holds the id of the container that has the name (created exclusively)
/// containers/.removing-&lt;id&gt;      a container's directory while rm deletes it
/// </code>
/// An id is 64 lowercase hex digits, as docker's; the first 12 are the short id and the default hostname.
/// </summary>
public sealed partial class ContainerStore
{
    public ContainerStore(string root)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.Combine(Path.GetFullPath(root), "containers");
    }

    public string Root { get; }

    private string NamesDirectory => Path.Combine(Root, ".names");

    public static string NewId() => Convert.ToHexStringLower(RuntimeSyscalls.RandomBytes(32));

    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    public ContainerPaths PathsOf(string id) =>
        IdPattern().IsMatch(id) ? new ContainerPaths(Path.Combine(Root, id)) : throw new ArgumentException($"invalid container id {id}", nameof(id));

    /// <summary>Makes the container's directory and claims its name; throws if the name is taken.</summary>
    public ContainerPaths Create(string id, string name)
    {
        if (!IsValidName(name))
        {
            throw new ContainerConfigException($"invalid container name \"{name}\", only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        }

        var paths = PathsOf(id);
        if (Directory.Exists(paths.Directory))
        {
            // Only a given id (RunRequest.Id) can meet an existing one; it must never be taken over.
            throw new ContainerConfigException($"Conflict. A container with id \"{id}\" already exists.");
        }

        NodeFiles.CreatePrivateDirectory(NamesDirectory);
        try
        {
            using var claim = new FileStream(Path.Combine(NamesDirectory, name), NodeFiles.Private(FileMode.CreateNew, FileAccess.Write));
            claim.Write(System.Text.Encoding.ASCII.GetBytes(id));
        }
        catch (IOException) when (File.Exists(Path.Combine(NamesDirectory, name)))
        {
            var owner = File.ReadAllText(Path.Combine(NamesDirectory, name));
            throw new ContainerConfigException(
                $"Conflict. The container name \"/{name}\" is already in use by container \"{owner}\". You have to remove (or rename) that container to be able to reuse that name.");
        }

        try
        {
            NodeFiles.CreatePrivateDirectory(paths.Directory);
            NodeFiles.CreatePrivateDirectory(paths.RootFs);
            NodeFiles.CreatePrivateDirectory(paths.Work);
            // The upper dir's own mode is the container's "/": 0755, as docker's. The container's
            // directory above it (0700) is what keeps local users away from what the container writes.
            NodeFiles.CreateContainerDirectory(paths.Upper);
            return paths;
        }
        catch
        {
            Remove(id, name);
            throw;
        }
    }

    /// <summary>Deletes the container's directory and frees its name. The overlay is never mounted in this
    /// mount namespace, so this removes plain files; symlinks in the upper dir are removed, not followed.</summary>
    public void Remove(string id, string name)
    {
        var paths = PathsOf(id);
        if (Directory.Exists(paths.Directory))
        {
            Directory.Delete(paths.Directory, recursive: true);
        }

        var claim = Path.Combine(NamesDirectory, name);
        if (File.Exists(claim) && File.ReadAllText(claim) == id)
        {
            File.Delete(claim);
        }
    }

    /// <summary>
    /// Takes the container's directory out of the store for removal: it is renamed to
    /// <c>containers/.removing-ID</c> in one step, so that of two removals at once (rm -f while
    /// run -d --rm's own removal starts) exactly one goes on. Null when another removal has it.
    /// </summary>
    public ContainerPaths? ClaimRemoval(string id)
    {
        var paths = PathsOf(id);
        var claimed = new ContainerPaths(Path.Combine(Root, ".removing-" + id));
        try
        {
            Directory.Move(paths.Directory, claimed.Directory);
            return claimed;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Frees the name and deletes the directory <see cref="ClaimRemoval"/> took.</summary>
    public void FinishRemoval(ContainerPaths claimed, string id, string name)
    {
        Remove(id, name);
        Directory.Delete(claimed.Directory, recursive: true);
    }

    /// <summary>True while a removal deletes the container's directory.</summary>
    public bool IsBeingRemoved(string id) => Directory.Exists(Path.Combine(Root, ".removing-" + id));

    /// <summary>The ids of the containers on this node, in no particular order.</summary>
    public IEnumerable<string> Ids() =>
        Directory.Exists(Root)
            ? Directory.EnumerateDirectories(Root).Select(Path.GetFileName).OfType<string>().Where(d => IdPattern().IsMatch(d) && File.Exists(Path.Combine(Root, d, "config.json")))
            : [];

    /// <summary>The id of the container a user named, as docker resolves it: an exact id or name, else a unique id prefix.</summary>
    /// <exception cref="ContainerNotFoundException">No container, or a prefix several ids share.</exception>
    public string Find(string reference)
    {
        if (IdPattern().IsMatch(reference) && File.Exists(Path.Combine(Root, reference, "config.json")))
        {
            return reference;
        }

        var claim = Path.Combine(NamesDirectory, reference);
        if (IsValidName(reference) && File.Exists(claim) && File.ReadAllText(claim) is var id && IdPattern().IsMatch(id))
        {
            return id;
        }

        var matches = reference.Length > 0 && reference.All(char.IsAsciiHexDigitLower)
            ? Ids().Where(i => i.StartsWith(reference, StringComparison.Ordinal)).Take(2).ToList()
            : [];
        return matches.Count == 1 ? matches[0] : throw new ContainerNotFoundException(reference);
    }

    public static ContainerConfigFile ReadConfig(ContainerPaths paths) =>
        JsonSerializer.Deserialize(File.ReadAllBytes(paths.ConfigFile), ContainerJson.Default.ContainerConfigFile)
            ?? throw new InvalidDataException($"{paths.ConfigFile} is empty");

    public static void WriteConfig(ContainerPaths paths, ContainerConfigFile config) =>
        WriteAtomically(paths.ConfigFile, JsonSerializer.SerializeToUtf8Bytes(config, ContainerJson.Default.ContainerConfigFile));

    public static void WriteState(ContainerPaths paths, ContainerStateFile state) =>
        WriteAtomically(paths.StateFile, JsonSerializer.SerializeToUtf8Bytes(state, ContainerJson.Default.ContainerStateFile));

    public static ContainerStateFile ReadState(ContainerPaths paths) =>
        JsonSerializer.Deserialize(File.ReadAllBytes(paths.StateFile), ContainerJson.Default.ContainerStateFile)
            ?? throw new InvalidDataException($"{paths.StateFile} is empty");

    private static void WriteAtomically(string path, byte[] content)
    {
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            NodeFiles.WritePrivate(temporary, content);
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[0-9a-f]{64}$")]
    private static partial Regex IdPattern();
}

/// <summary>The files and directories of one container (see <see cref="ContainerStore"/>).</summary>
public sealed record ContainerPaths(string Directory)
{
    public string ConfigFile => Path.Combine(Directory, "config.json");

    public string StateFile => Path.Combine(Directory, "state.json");

    public string LogFile => Path.Combine(Directory, "container.log");

    public string InitSpec => Path.Combine(Directory, "init.spec");

    public string RootFs => Path.Combine(Directory, "rootfs");

    public string Upper => Path.Combine(Directory, "upper");

    public string Work => Path.Combine(Directory, "work");

    /// <summary>Made by stop and rm -f before they signal: the supervisor then starts the container no more.</summary>
    public string StopMarker => Path.Combine(Directory, "stop-requested");
}

/// <summary>docker's "No such container".</summary>
public sealed class ContainerNotFoundException(string reference) : Exception($"No such container: {reference}")
{
    public string Reference { get; } = reference;
}
