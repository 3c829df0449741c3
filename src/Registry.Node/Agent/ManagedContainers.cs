namespace Registry.Node.Agent;

/// <summary>
/// <c>agent/containers.json</c>: the containers this agent made for the registry, with the placement
/// and the startSerial it last acted on. Rewritten whole at each change, so a restarted agent knows
/// what it manages, neither starting again what it started nor forgetting what it must remove.
/// </summary>
internal sealed class ManagedContainers
{
    private readonly AgentFiles _files;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, ManagedContainer> _containers;

    public ManagedContainers(AgentFiles files)
    {
        _files = files;
        var file = AgentFiles.Read(files.ContainersFile, AgentFilesJson.Default.ManagedContainersFile);
        _containers = (file?.Containers ?? []).ToDictionary(c => c.Id, StringComparer.Ordinal);
    }

    public ManagedContainer? Get(string id)
    {
        lock (_lock)
        {
            return _containers.GetValueOrDefault(id);
        }
    }

    public IReadOnlyList<ManagedContainer> All()
    {
        lock (_lock)
        {
            return [.. _containers.Values];
        }
    }

    public void Put(ManagedContainer container)
    {
        lock (_lock)
        {
            _containers[container.Id] = container;
            Save();
        }
    }

    public void Remove(string id)
    {
        lock (_lock)
        {
            if (_containers.Remove(id))
            {
                Save();
            }
        }
    }

    // Under the lock: writes are in the order of the changes.
    private void Save() =>
        _files.Write(_files.ContainersFile, new ManagedContainersFile([.. _containers.Values.OrderBy(c => c.Id, StringComparer.Ordinal)]), AgentFilesJson.Default.ManagedContainersFile);
}
