using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Registry.Storage.Presence;

/// <summary>
/// Presence for replicas that share one PostgreSQL database: each holds a session-level advisory lock under a key of
/// its own on a connection kept for the purpose. PostgreSQL drops the lock when the session ends, which it does as
/// soon as the process dies (the kernel closes its socket), so <c>pg_locks</c> tells every replica which others still
/// run, whatever machine they are on. When the session is lost (the database restarted, the network failed) the
/// replica reports <see cref="Lost"/>, which stops its writers, and takes the same key again on a new session.
/// </summary>
public sealed partial class PostgresPresence : IProcessPresence, IAsyncDisposable
{
    /// <summary>The first half of every presence key: "regi" in ASCII, beside the start-up lock's "registry".</summary>
    private const int KeyClass = 0x72656769;

    private const string Prefix = "pg:";

    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan RetryEvery = TimeSpan.FromSeconds(2);

    private readonly string _connectionString;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private CancellationTokenSource _lost = new();
    private NpgsqlConnection? _connection;
    private int _key;
    private Task _watching = Task.CompletedTask;

    public PostgresPresence(string connectionString, ILogger<PostgresPresence> logger)
    {
        // A connection of its own, outside the pool: closing it must end the session, and with it the lock.
        _connectionString = new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ToString();
        _logger = logger;
    }

    public CancellationToken Lost => Volatile.Read(ref _lost).Token;

    public async ValueTask<string> GetIdAsync(CancellationToken ct)
    {
        await _gate.WaitAsync(ct);
        try
        {
            ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
            if (_key == 0)
            {
                var connection = await OpenAsync(ct);
                try
                {
                    // A key no live replica holds: one in two thousand million is taken twice only by chance.
                    var key = 0;
                    while (key == 0 || !await TryLockAsync(connection, key, ct))
                    {
                        key = RandomNumberGenerator.GetInt32(1, int.MaxValue);
                    }

                    _key = key;
                    _connection = connection;
                }
                catch
                {
                    await connection.DisposeAsync();
                    throw;
                }

                _watching = WatchAsync();
            }

            return Prefix + _key.ToString(CultureInfo.InvariantCulture);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<bool> IsGoneAsync(string id, CancellationToken ct)
    {
        if (!id.StartsWith(Prefix, StringComparison.Ordinal)
            || !int.TryParse(id.AsSpan(Prefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var key))
        {
            return false; // another kind of presence: not ours to decide
        }

        await _gate.WaitAsync(ct);
        try
        {
            if (_connection is not { } connection)
            {
                return false; // without a session of our own nothing can be decided
            }

            await using var command = new NpgsqlCommand(
                """
                SELECT NOT EXISTS (
                    SELECT 1 FROM pg_locks
                    WHERE locktype = 'advisory' AND granted AND objsubid = 2 AND classid = $1::oid AND objid = $2::oid
                      AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
                """,
                connection);
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = KeyClass });
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = key });
            return (bool)(await command.ExecuteScalarAsync(ct))!;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _watching;
        await _gate.WaitAsync();
        try
        {
            if (_connection is { } connection)
            {
                // Unlocked first: the server ends a closed session's backend (and its locks) only a moment later, and
                // an orderly stop should leave no such moment in which the presence still looks alive.
                try
                {
                    await using var unlock = new NpgsqlCommand("SELECT pg_advisory_unlock_all()", connection) { CommandTimeout = 5 };
                    await unlock.ExecuteNonQueryAsync();
                }
                catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
                {
                    // The session is gone or going; its locks go with it.
                }

                await connection.DisposeAsync();
                _connection = null;
            }
        }
        finally
        {
            _gate.Release();
        }

        _stop.Dispose();
    }

    /// <summary>Checks the session now and then; when it is gone, says so and takes the key again on a new one.</summary>
    private async Task WatchAsync()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                await Task.Delay(CheckEvery, _stop.Token);
                if (await CheckAsync())
                {
                    continue;
                }

                await Volatile.Read(ref _lost).CancelAsync();
                while (!await RetakeAsync())
                {
                    await Task.Delay(RetryEvery, _stop.Token);
                }

                // The cancelled source is left undisposed: a writer may still be reading its token.
                Interlocked.Exchange(ref _lost, new CancellationTokenSource());
                LogRetaken(_logger, _key);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task<bool> CheckAsync()
    {
        await _gate.WaitAsync(_stop.Token);
        try
        {
            await using var command = new NpgsqlCommand("SELECT 1", _connection) { CommandTimeout = (int)CheckEvery.TotalSeconds };
            await command.ExecuteScalarAsync(_stop.Token);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            LogLost(_logger, _key, e);
            if (_connection is { } broken)
            {
                await broken.DisposeAsync();
                _connection = null;
            }

            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Takes this replica's key on a new session; false while the database cannot be reached or still holds the old one.</summary>
    private async Task<bool> RetakeAsync()
    {
        await _gate.WaitAsync(_stop.Token);
        NpgsqlConnection? connection = null;
        try
        {
            connection = await OpenAsync(_stop.Token);
            if (!await TryLockAsync(connection, _key, _stop.Token))
            {
                await connection.DisposeAsync();
                return false;
            }

            _connection = connection;
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }

            return false;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<NpgsqlConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new NpgsqlConnection(_connectionString);
        try
        {
            await connection.OpenAsync(ct);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private static async Task<bool> TryLockAsync(NpgsqlConnection connection, int key, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand("SELECT pg_try_advisory_lock($1, $2)", connection);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = KeyClass });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = key });
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Lost the database session that shows this replica present (key {Key}); its upload writers stop until it is back")]
    private static partial void LogLost(ILogger logger, int key, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "This replica is present again on a new database session (key {Key})")]
    private static partial void LogRetaken(ILogger logger, int key);
}
