using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Registry.Node.Files;

namespace Registry.Node.Runtime.Volumes;

/// <summary>
/// The node's named volumes, as docker's local driver keeps them:
/// <code>
/// volumes/&lt;name&gt;/_data     the volume's content, bind-mounted into the containers that use it
/// </code>
/// A volume is made on first use (or by <c>volume create</c>) and outlives its containers; it is
/// in use while a container that mounts it exists (its <c>mounts.json</c> names it), running or not.
/// </summary>
public sealed partial class VolumeStore
{
    public VolumeStore(string nodeRoot)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeRoot);
        NodeRoot = Path.GetFullPath(nodeRoot);
        Root = Path.Combine(NodeRoot, "volumes");
    }

    public string NodeRoot { get; }

    public string Root { get; }

    public static bool IsValidName(string name) => NamePattern().IsMatch(name);

    public string DataPath(string name) =>
        IsValidName(name) ? Path.Combine(Root, name, "_data") : throw new ContainerConfigException($"invalid volume name \"{name}\"");

    /// <summary>Makes the volume unless it exists; true when it was made now.</summary>
    public bool Create(string name)
    {
        var data = DataPath(name);
        if (Directory.Exists(data))
        {
            return false;
        }

        NodeFiles.CreatePrivateDirectory(Path.GetDirectoryName(data)!);
        // _data is what containers see at the mount point: 0755 as docker's local driver makes it.
        NodeFiles.CreateContainerDirectory(data);
        return true;
    }

    public IReadOnlyList<string> List() =>
        Directory.Exists(Root)
            ? [.. Directory.EnumerateDirectories(Root).Select(Path.GetFileName).OfType<string>().Where(n => IsValidName(n) && Directory.Exists(DataPath(n))).Order(StringComparer.Ordinal)]
            : [];

    /// <summary>The ids of the containers (running or not) that mount the volume.</summary>
    public IReadOnlyList<string> UsedBy(string name)
    {
        var containers = Path.Combine(NodeRoot, "containers");
        if (!Directory.Exists(containers))
        {
            return [];
        }

        var users = new List<string>();
        foreach (var directory in Directory.EnumerateDirectories(containers))
        {
            var file = Path.Combine(directory, ContainerMounts.FileName);
            if (File.Exists(file) && ContainerMounts.Read(file).Any(m => m.Kind == MountKind.Volume && m.Source == name))
            {
                users.Add(Path.GetFileName(directory));
            }
        }

        return users;
    }

    /// <exception cref="VolumeException">It does not exist or a container uses it.</exception>
    public void Remove(string name)
    {
        var data = DataPath(name);
        if (!Directory.Exists(data))
        {
            throw new VolumeException($"get {name}: no such volume");
        }

        var users = UsedBy(name);
        if (users.Count > 0)
        {
            throw new VolumeException($"remove {name}: volume is in use - [{string.Join(", ", users)}]");
        }

        Directory.Delete(Path.GetDirectoryName(data)!, recursive: true);
    }

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$")]
    private static partial Regex NamePattern();
}

/// <summary>A volume that cannot be removed or found.</summary>
public sealed class VolumeException(string message) : Exception(message);

/// <summary>A container's mounts as made: <c>containers/&lt;id&gt;/mounts.json</c>, written before it starts.</summary>
public static class ContainerMounts
{
    public const string FileName = "mounts.json";

    public static void Write(string file, IReadOnlyList<MountRequest> mounts) =>
        NodeFiles.WritePrivate(file, JsonSerializer.SerializeToUtf8Bytes([.. mounts], MountJson.Default.MountRequestArray));

    public static IReadOnlyList<MountRequest> Read(string file) =>
        JsonSerializer.Deserialize(File.ReadAllBytes(file), MountJson.Default.MountRequestArray) ?? [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, UseStringEnumConverter = true)]
[JsonSerializable(typeof(MountRequest[]))]
internal sealed partial class MountJson : JsonSerializerContext;
