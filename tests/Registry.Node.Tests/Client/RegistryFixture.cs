using Registry.Testing;

namespace Registry.Node.Tests.Client;

/// <summary>Our registry as a child process, shared by the tests of a class; each test pushes to its own repository.</summary>
public sealed class RegistryFixture : IAsyncLifetime
{
    private RegistryProcess? _registry;

    public RegistryProcess Registry => _registry ?? throw new InvalidOperationException("the registry is not started");

    public async Task InitializeAsync() => _registry = await RegistryProcess.StartAsync();

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }
    }

    /// <summary>A repository name no other test uses.</summary>
    public static string NewRepository(string prefix) => $"node-tests/{prefix}-{Guid.NewGuid():N}";
}
