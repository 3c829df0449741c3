using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Storage.Metadata;

namespace Registry.Api.Nodes;

/// <summary>
/// Wakes the long-polls this replica holds when their node's generation changes. One query per
/// <see cref="NodeOptions.WatchInterval"/> reads the generations of every node waited on here, so the database's work
/// does not grow with the number of idle nodes, and a change made through any replica is seen: the database is the
/// only shared state. The polls' waits and the checks keep to real time: they are the time an HTTP request is held
/// and a polling interval, not times of the registry's records.
/// </summary>
public sealed partial class GenerationWatch(IServiceScopeFactory scopes, IOptions<NodeOptions> options, ILogger<GenerationWatch> logger)
    : BackgroundService
{
    private const int QueryBatch = 500;

    private readonly ConcurrentDictionary<Waiter, byte> _waiters = new();

    /// <summary>Returns when the node's generation differs from <paramref name="generation"/>, the node is gone, or the time is up.</summary>
    public async Task WaitAsync(long nodeId, long generation, TimeSpan timeout, CancellationToken ct)
    {
        var waiter = new Waiter(nodeId, generation);
        _waiters.TryAdd(waiter, 0);
        try
        {
            await waiter.Changed.Task.WaitAsync(timeout, TimeProvider.System, ct);
        }
        catch (TimeoutException)
        {
            // Nothing changed: the poll answers with the same generation.
        }
        finally
        {
            _waiters.TryRemove(waiter, out _);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.WatchInterval, TimeProvider.System);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            if (_waiters.IsEmpty)
            {
                continue;
            }

            try
            {
                await CheckAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogCheckFailed(logger, e);
            }
        }
    }

    private async Task CheckAsync(CancellationToken ct)
    {
        var waiters = _waiters.Keys.ToList();
        var current = new Dictionary<long, long>();
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
            foreach (var batch in waiters.Select(w => w.NodeId).Distinct().Chunk(QueryBatch))
            {
                var ids = batch.ToList();
                foreach (var node in await db.Nodes.AsNoTracking().Where(n => ids.Contains(n.Id)).Select(n => new { n.Id, n.Generation }).ToListAsync(ct))
                {
                    current[node.Id] = node.Generation;
                }
            }
        }

        foreach (var waiter in waiters)
        {
            if (!current.TryGetValue(waiter.NodeId, out var generation) || generation != waiter.Generation)
            {
                waiter.Changed.TrySetResult();
            }
        }
    }

    private sealed class Waiter(long nodeId, long generation)
    {
        public long NodeId { get; } = nodeId;

        public long Generation { get; } = generation;

        public TaskCompletionSource Changed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Checking the generations of waiting nodes failed; the next check runs as planned")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception);
}
