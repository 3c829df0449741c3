using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Registry.Node.Files;

namespace Registry.Node.Agent;

/// <summary>
/// The agent's own state under the node's root:
/// <code>
/// agent/                  0700
/// agent/node.json         the registry's URL, this node's name and its credential (written by join)
/// agent/containers.json   the containers the agent manages: placement, the startSerial last acted on, a failure
/// agent/logs.json         per container, the log offset up to which the registry acknowledged its lines
/// </code>
/// Every file is 0600 and replaced whole: written to a temporary file beside it, flushed to disk,
/// then renamed over it, so a crash leaves the old file or the new one, never half of one.
/// </summary>
internal sealed class AgentFiles
{
    public AgentFiles(string nodeRoot)
    {
        ArgumentException.ThrowIfNullOrEmpty(nodeRoot);
        AgentDirectory = Path.Combine(Path.GetFullPath(nodeRoot), "agent");
    }

    public string AgentDirectory { get; }

    public string NodeFile => Path.Combine(AgentDirectory, "node.json");

    public string ContainersFile => Path.Combine(AgentDirectory, "containers.json");

    public string LogsFile => Path.Combine(AgentDirectory, "logs.json");

    /// <summary>The node's identity, or null before it joined.</summary>
    public NodeIdentity? ReadIdentity() => Read(NodeFile, AgentFilesJson.Default.NodeIdentity);

    public void WriteIdentity(NodeIdentity identity) => Write(NodeFile, identity, AgentFilesJson.Default.NodeIdentity);

    /// <summary>The file's content, or null when it does not exist.</summary>
    public static T? Read<T>(string path, JsonTypeInfo<T> type)
        where T : class
    {
        try
        {
            return JsonSerializer.Deserialize(File.ReadAllBytes(path), type);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    /// <summary>Replaces <paramref name="path"/> (under <see cref="AgentDirectory"/>) atomically with <paramref name="value"/>, 0600.</summary>
    public void Write<T>(string path, T value, JsonTypeInfo<T> type)
    {
        EnsureDirectory();
        var temporary = Path.Combine(AgentDirectory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            using (var file = new FileStream(temporary, NodeFiles.Private(FileMode.CreateNew, FileAccess.Write)))
            {
                JsonSerializer.Serialize(file, value, type);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Creates the directory 0700, and makes an existing one exactly 0700: it holds the node's credential.</summary>
    private void EnsureDirectory()
    {
        NodeFiles.CreatePrivateDirectory(AgentDirectory);
        NodeFiles.SetMode(AgentDirectory, NodeFiles.PrivateDirectoryMode);
    }
}

/// <summary><c>agent/node.json</c>: what <c>registry-node join</c> received. Never the join token.</summary>
/// <param name="Server">The registry's URL, as given to join.</param>
/// <param name="Credential">The node's own credential (<c>regnode_…</c>), sent as a bearer token on /api/v1/node/….</param>
internal sealed record NodeIdentity(string Server, string Name, string Credential, int HeartbeatSeconds)
{
    // A record prints every property: never the credential.
    public override string ToString() => $"NodeIdentity {{ Server = {Server}, Name = {Name} }}";
}

/// <summary>One container of <c>agent/containers.json</c>.</summary>
internal sealed record ManagedContainer
{
    public required string Id { get; init; }

    /// <summary>The placement the local container was made for.</summary>
    public long Placement { get; init; }

    /// <summary>The desired state's startSerial the agent last acted on: a greater one (re)starts the container.</summary>
    public long StartSerial { get; init; }

    public string Image { get; init; } = "";

    /// <summary>True once the runtime made the container (it may have failed to start: its state says so).</summary>
    public bool Created { get; init; }

    /// <summary>Why the container could not be made (the pull, its spec); it is tried again at the next start.</summary>
    public string? Failure { get; init; }

    /// <summary>The failure was the registry being out of reach: tried again with back-off, without waiting for a start.</summary>
    public bool RetryFailure { get; init; }
}

internal sealed record ManagedContainersFile(IReadOnlyList<ManagedContainer> Containers);

/// <summary>One container of <c>agent/logs.json</c>: its lines before <see cref="Offset"/> are acknowledged.</summary>
internal sealed record ShippedLogOffset(string Id, long Placement, long Offset);

internal sealed record ShippedLogsFile(IReadOnlyList<ShippedLogOffset> Containers);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(NodeIdentity))]
[JsonSerializable(typeof(ManagedContainersFile))]
[JsonSerializable(typeof(ShippedLogsFile))]
internal sealed partial class AgentFilesJson : JsonSerializerContext;
