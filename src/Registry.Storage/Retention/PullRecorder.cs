using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Storage.Metadata;

namespace Registry.Storage.Retention;

/// <summary>
/// Records when manifests are pulled without writing to the database on the pull: <see cref="Record"/> only notes the
/// time in memory (bounded, and once per manifest per <see cref="RetentionOptions.PullRecordGranularity"/>), and a
/// background loop writes what was noted every <see cref="RetentionOptions.PullFlushInterval"/> with one UPDATE per
/// batch, which only moves <c>last_pulled_at</c> forward. What is noted is written on shutdown too. The time written
/// is the newest pull of the batch, so it is accurate to the flush interval.
/// </summary>
public sealed partial class PullRecorder(
    IServiceScopeFactory scopes, IOptions<RetentionOptions> options, TimeProvider time, ILogger<PullRecorder> logger) : BackgroundService
{
    private const int BatchSize = 500;

    private readonly Lock _lock = new();
    private Dictionary<(string Repository, string Digest), DateTime> _pending = [];
    private readonly Dictionary<(string Repository, string Digest), DateTime> _recent = [];
    private long _dropped;

    /// <summary>Notes a pull of the manifest; never blocks on the database.</summary>
    public void Record(string repository, string digest)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var key = (repository, digest);
        lock (_lock)
        {
            if (_recent.TryGetValue(key, out var last) && now - last < options.Value.PullRecordGranularity)
            {
                return;
            }

            if (_pending.Count >= options.Value.PullBufferCapacity && !_pending.ContainsKey(key))
            {
                _dropped++;
                return;
            }

            _pending[key] = now;
            if (_recent.Count < options.Value.PullBufferCapacity)
            {
                _recent[key] = now;
            }
        }
    }

    /// <summary>Writes every noted pull now; returns how many manifests it noted.</summary>
    public async Task<int> FlushAsync(CancellationToken ct)
    {
        Dictionary<(string Repository, string Digest), DateTime> batch;
        long dropped;
        lock (_lock)
        {
            batch = _pending;
            _pending = [];
            dropped = _dropped;
            _dropped = 0;
            var horizon = time.GetUtcNow().UtcDateTime - options.Value.PullRecordGranularity;
            foreach (var stale in _recent.Where(e => e.Value <= horizon).Select(e => e.Key).ToList())
            {
                _recent.Remove(stale);
            }
        }

        if (dropped > 0)
        {
            LogDropped(logger, dropped);
        }

        if (batch.Count == 0)
        {
            return 0;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        foreach (var chunk in batch.Chunk(BatchSize))
        {
            await WriteAsync(db, chunk, ct);
        }

        return batch.Count;
    }

    private static async Task WriteAsync(RegistryDbContext db, KeyValuePair<(string Repository, string Digest), DateTime>[] chunk, CancellationToken ct)
    {
        var names = chunk.Select(e => e.Key.Repository).Distinct().ToList();
        var digests = chunk.Select(e => e.Key.Digest).Distinct().ToList();
        var keys = chunk.Select(e => e.Key).ToHashSet();
        var rows = await (from m in db.Manifests.AsNoTracking()
                          join r in db.Repositories.AsNoTracking() on m.RepositoryId equals r.Id
                          where names.Contains(r.Name) && digests.Contains(m.Digest)
                          select new { m.Id, r.Name, m.Digest }).ToListAsync(ct);
        var ids = rows.Where(r => keys.Contains((r.Name, r.Digest))).Select(r => r.Id).ToList();
        if (ids.Count == 0)
        {
            return;
        }

        DateTime? pulledAt = chunk.Max(e => e.Value);
        await db.Manifests
            .Where(m => ids.Contains(m.Id) && (m.LastPulledAt == null || m.LastPulledAt < pulledAt))
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.LastPulledAt, pulledAt), ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PullFlushInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await FlushQuietlyAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await FlushQuietlyAsync(cancellationToken);
    }

    private async Task FlushQuietlyAsync(CancellationToken ct)
    {
        try
        {
            await FlushAsync(ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFlushFailed(logger, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recording pull times failed; those pulls are not recorded")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} pulls were not recorded: the pull buffer was full")]
    private static partial void LogDropped(ILogger logger, long count);
}
