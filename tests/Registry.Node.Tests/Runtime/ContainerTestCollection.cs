namespace Registry.Node.Tests.Runtime;

/// <summary>
/// Test classes that run containers share the node's cgroup tree (<c>registry-node/…</c>) and check that it is left
/// as they found it, so they run one after another rather than in parallel.
/// </summary>
[CollectionDefinition(Name)]
public sealed class ContainerTestCollection
{
    public const string Name = "Containers";
}
