using Registry.Testing;

namespace Registry.E2E.Tests;

/// <summary>
/// Starts the registry the end-to-end tests target: ours (<see cref="RegistryProcess"/>). Setting
/// <c>REGISTRY_E2E_TARGET=reference</c> runs the same tests against the reference registry, to
/// check the tests themselves against a known-good implementation.
/// </summary>
internal static class RegistryUnderTest
{
    public const string TargetVariable = "REGISTRY_E2E_TARGET";

    public static bool IsReference =>
        string.Equals(Environment.GetEnvironmentVariable(TargetVariable), "reference", StringComparison.OrdinalIgnoreCase);

    public static async Task<IRegistryServer> StartAsync(CancellationToken cancellationToken = default)
        => IsReference
            ? await ReferenceRegistry.StartAsync(cancellationToken).ConfigureAwait(false)
            : await RegistryProcess.StartAsync(cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// A docker client with its own configuration in <paramref name="configDirectory"/>, logged in
    /// as the registry's admin; without a login when the registry asks for none (the reference registry).
    /// </summary>
    public static async Task<DockerCli> DockerLoggedInAsync(
        IRegistryServer registry, string configDirectory, CancellationToken cancellationToken = default)
    {
        var docker = DockerCli.Default.WithConfigDirectory(configDirectory);
        await docker.EnsureAvailableAsync(cancellationToken).ConfigureAwait(false);
        if (registry.Admin is { } admin)
        {
            (await docker.LoginAsync(registry.HostPort, admin, cancellationToken).ConfigureAwait(false)).EnsureSuccess();
        }

        return docker;
    }

    /// <summary>
    /// The path of an auth file (docker config.json format, for skopeo and podman <c>--authfile</c>) with the
    /// registry's admin; an empty one when the registry asks for no login. No client then reads the user's own credentials.
    /// </summary>
    public static string WriteAdminAuthFile(IRegistryServer registry, string path)
    {
        if (registry.Admin is { } admin)
        {
            admin.WriteAuthFile(path, registry.HostPort);
        }
        else
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, """{"auths":{}}""");
        }

        return path;
    }
}

/// <summary>One registry under test shared by the tests of a class; each test uses its own repositories.</summary>
public sealed class RegistryFixture : IAsyncLifetime
{
    private IRegistryServer? _registry;

    public IRegistryServer Registry => _registry ?? throw new InvalidOperationException("The registry did not start.");

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        _registry = await RegistryUnderTest.StartAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }
    }
}

/// <summary>The registry under test plus the reference registry, for copies between two registries.</summary>
public sealed class TwoRegistriesFixture : IAsyncLifetime
{
    private IRegistryServer? _registry;
    private ReferenceRegistry? _reference;

    public IRegistryServer Registry => _registry ?? throw new InvalidOperationException("The registry did not start.");

    public ReferenceRegistry Reference => _reference ?? throw new InvalidOperationException("The reference registry did not start.");

    public async Task InitializeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        _reference = await ReferenceRegistry.StartAsync(timeout.Token);
        _registry = await RegistryUnderTest.StartAsync(timeout.Token);
    }

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }

        if (_reference is not null)
        {
            await _reference.DisposeAsync();
        }
    }
}
