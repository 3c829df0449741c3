using Registry.Testing;

namespace Registry.E2E.Tests.Replicas;

/// <summary>One pair of replicas (blobs streamed through the registry) for the replica tests; each test uses repositories of its own.</summary>
public sealed class ReplicaPairFixture : IAsyncLifetime
{
    internal ReplicaPair Pair { get; private set; } = null!;

    public async Task InitializeAsync() => Pair = await ReplicaPair.StartAsync(await S3Server.GetAsync());

    public async Task DisposeAsync() => await Pair.DisposeAsync();
}

/// <summary>The replica tests run one at a time: each starts registry processes of its own or shares the pair.</summary>
[CollectionDefinition(Name)]
public sealed class ReplicaCollection : ICollectionFixture<ReplicaPairFixture>
{
    public const string Name = "replicas";
}
