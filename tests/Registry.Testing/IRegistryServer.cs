namespace Registry.Testing;

/// <summary>A registry served by a child process of the tests, on 127.0.0.1.</summary>
public interface IRegistryServer : IAsyncDisposable
{
    /// <summary>A short name for failure messages ("registry", "reference registry").</summary>
    string Name { get; }

    /// <summary><c>http://127.0.0.1:PORT/</c>.</summary>
    Uri BaseAddress { get; }

    /// <summary><c>127.0.0.1:PORT</c>, the registry part of image references.</summary>
    string HostPort { get; }

    /// <summary>Where the registry keeps its data; it survives <see cref="Kill"/> and restarts.</summary>
    string DataDirectory { get; }

    /// <summary>A user with every right (our registry's <c>admin</c>); null when the registry asks for no login.</summary>
    RegistryCredentials? Admin { get; }

    /// <summary>What the server process printed so far.</summary>
    string Output { get; }

    /// <summary>Kills the server with SIGKILL, like a crash.</summary>
    void Kill();

    /// <summary>Stops the server if it runs and starts it again on the same port and data.</summary>
    Task RestartAsync(CancellationToken cancellationToken = default);
}
