using System.Globalization;
using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Containers;
using DotNet.Testcontainers.Images;
using Npgsql;

namespace Registry.Testing;

/// <summary>
/// One PostgreSQL 15 server per test process, in a container of the image test.sh builds
/// (<see cref="Image"/>), on the host network at 127.0.0.1 and a free port. Each test takes a
/// fresh database from <see cref="CreateDatabaseAsync"/>, so tests never share data.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    public const string Image = "registry-test/postgres:15";
    private const string User = "registry";
    private const string Password = "registry-test";
    private const int StartAttempts = 3;

    private static readonly Lock StartLock = new();
    private static Task<PostgresServer>? _shared;

    private readonly IContainer _container;

    private readonly bool _restartable;

    private PostgresServer(IContainer container, int port, bool restartable)
    {
        _container = container;
        Port = port;
        _restartable = restartable;
    }

    public int Port { get; }

    /// <summary>Connection string of the maintenance database <c>postgres</c>.</summary>
    public string AdminConnectionString => ConnectionString("postgres");

    /// <summary>The shared server, started on first use. Throws when it cannot start: tests fail, never skip.</summary>
    public static Task<PostgresServer> GetAsync()
    {
        lock (StartLock)
        {
            // A failed start is not cached, so a later test reports its own failure.
            if (_shared is null || _shared.IsFaulted || _shared.IsCanceled)
            {
                _shared = StartSharedAsync();
            }

            return _shared;
        }
    }

    /// <summary>Creates an empty database with a unique name and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var name = "test_" + Guid.NewGuid().ToString("N");
        var connection = new NpgsqlConnection(AdminConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // The name is generated above (hex only), so quoting it is enough.
            var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await using (command.ConfigureAwait(false))
            {
                await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        return ConnectionString(name);
    }

    public async ValueTask DisposeAsync()
    {
        var id = _container.Id;
        await _container.DisposeAsync().ConfigureAwait(false);
        if (_restartable)
        {
            // Without Ryuk, disposal only stops a container; the others remove themselves when stopped (auto-remove).
            await ProcessRunner.RunAsync("docker", ["rm", "-f", id], TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the server (clients are refused from then on); a restartable one keeps its data.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default) => _container.StopAsync(cancellationToken);

    /// <summary>Starts a stopped restartable server again on its port and waits until it accepts connections.</summary>
    public Task StartAgainAsync(CancellationToken cancellationToken = default) => _container.StartAsync(cancellationToken);

    private string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1",
        Port = Port,
        Username = User,
        Password = Password,
        Database = database,
    }.ConnectionString;

    private static async Task<PostgresServer> StartSharedAsync()
    {
        await RemoveOrphansAsync().ConfigureAwait(false);
        var server = await StartAsync(CancellationToken.None).ConfigureAwait(false);
        // No Ryuk here (its image cannot be pulled): remove the container when the test process ends.
        // The test runner may kill the process before this runs; then the next test process that
        // starts a server removes it (RemoveOrphansAsync), and test.sh removes its run's containers.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            server.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(20));
        return server;
    }

    /// <summary>Starts a new server (not the shared one); the caller disposes it.</summary>
    public static Task<PostgresServer> StartAsync(CancellationToken cancellationToken = default) => StartAsync(restartable: false, cancellationToken);

    /// <summary>
    /// Starts a new server (not the shared one) whose data lives in the container's own layer instead of memory, so
    /// that <see cref="StopAsync"/> and <see cref="StartAgainAsync"/> take it away and bring it back, data and port
    /// unchanged. The caller disposes it.
    /// </summary>
    public static Task<PostgresServer> StartRestartableAsync(CancellationToken cancellationToken = default) => StartAsync(restartable: true, cancellationToken);

    private static async Task<PostgresServer> StartAsync(bool restartable, CancellationToken cancellationToken)
    {
        Exception? last = null;
        // Retries only cover losing the free port to another process between choosing and binding it.
        for (var attempt = 1; attempt <= StartAttempts; attempt++)
        {
            var port = FreePort.Get();
            var container = Build(port, restartable);
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(TimeSpan.FromMinutes(2));
                await container.StartAsync(timeout.Token).ConfigureAwait(false);
                return new PostgresServer(container, port, restartable);
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var logs = await TryGetLogsAsync(container).ConfigureAwait(false);
                await container.DisposeAsync().ConfigureAwait(false);
                last = new InvalidOperationException(
                    $"PostgreSQL container ({Image}) did not start on port {port} (attempt {attempt}). "
                    + $"test.sh builds the image.\n--- container output ---\n{logs}", e);
            }
        }

        throw last!;
    }

    /// <summary>
    /// Removes the servers of test processes that are gone: each container carries its owner's pid
    /// and start time (field 22 of /proc/PID/stat), so a later process with the same pid is not
    /// mistaken for it, and the servers of test processes still running are left alone.
    /// </summary>
    private static async Task RemoveOrphansAsync()
    {
        var list = await ProcessRunner.RunAsync(
            "docker", ["ps", "-aq", "--no-trunc", "--filter", "label=" + OwnerLabel, "--format", $"{{{{.ID}}}} {{{{.Label \"{OwnerLabel}\"}}}}"],
            TimeSpan.FromSeconds(30)).ConfigureAwait(false);
        foreach (var line in list.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var parts = line.Split(' ', 2);
            if (parts.Length == 2 && parts[1] != OwnerOf(ParsePid(parts[1])))
            {
                await ProcessRunner.RunAsync("docker", ["rm", "-f", parts[0]], TimeSpan.FromSeconds(30)).ConfigureAwait(false);
            }
        }
    }

    private const string OwnerLabel = "registry.test-owner";

    /// <summary>"PID:STARTTIME" of a running process, or "" when there is none.</summary>
    private static string OwnerOf(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return $"{pid}:{fields[19]}";
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return "";
        }
    }

    private static int ParsePid(string owner) =>
        int.TryParse(owner.Split(':')[0], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : 0;

    /// <summary>test.sh names its run here and, when it ends, removes the containers labelled with it, and only those.</summary>
    public const string RunVariable = "REGISTRY_TEST_RUN";

    public const string RunLabel = "registry.test-run";

    private static IContainer Build(int port, bool restartable)
    {
        var portText = port.ToString(CultureInfo.InvariantCulture);
        var builder = new ContainerBuilder(Image)
            .WithLabel(RunLabel, Environment.GetEnvironmentVariable(RunVariable) ?? "")
            .WithLabel(OwnerLabel, OwnerOf(Environment.ProcessId))
            // Built on this machine by test.sh; there is no registry to pull it from.
            .WithImagePullPolicy(PullPolicy.Never)
            .WithEnvironment("POSTGRES_USER", User)
            .WithEnvironment("POSTGRES_PASSWORD", Password)
            .WithEnvironment("POSTGRES_DB", "postgres")
            .WithEnvironment("PGPORT", portText)
            // The host network keeps all traffic on 127.0.0.1 and needs no port binding or bridge.
            .WithCreateParameterModifier(p => p.HostConfig!.NetworkMode = "host")
            .WithCommand("-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off", "-c", "max_connections=300")
            .WithWaitStrategy(Wait.ForUnixContainer()
                .UntilCommandIsCompleted("pg_isready", "--host", "127.0.0.1", "--port", portText, "--username", User))
            .WithCleanUp(true);
        if (restartable)
        {
            // Stopping must not lose the data or the container: disposal (or RemoveOrphansAsync) removes it.
            return builder.Build();
        }

        // Test data need not survive a crash: keep it in memory and skip fsync. The test host may be killed right
        // after the run, before disposal completes: let the engine remove the container as soon as it stops.
        return builder.WithTmpfsMount("/var/lib/postgresql/data").WithAutoRemove(true).Build();
    }

    private static async Task<string> TryGetLogsAsync(IContainer container)
    {
        try
        {
            var (stdout, stderr) = await container.GetLogsAsync().ConfigureAwait(false);
            return stdout + stderr;
        }
        catch (Exception e)
        {
            return $"(no logs: {e.Message})";
        }
    }
}
