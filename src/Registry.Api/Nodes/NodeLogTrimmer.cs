using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Storage.Hosting;
using Registry.Storage.Metadata;

namespace Registry.Api.Nodes;

/// <summary>
/// Keeps at most <see cref="NodeOptions.LogLinesPerContainer"/> log lines per container, the newest: every half
/// minute the containers with more lose their oldest. Any replica may do it; deleting what is already gone is nothing.
/// </summary>
public sealed class NodeLogTrimmer(IServiceScopeFactory scopes, IOptions<NodeOptions> options, TimeProvider time, ILogger<NodeLogTrimmer> logger)
    : PeriodicChore(time, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromSeconds(30);

    protected override TimeProvider Cadence => TimeProvider.System;

    protected override async Task RunOnceAsync(CancellationToken ct)
    {
        var keep = options.Value.LogLinesPerContainer;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        var over = await db.NodeContainerLogs.GroupBy(l => l.ContainerId).Where(g => g.Count() > keep).Select(g => g.Key).ToListAsync(ct);
        foreach (var container in over)
        {
            await TrimAsync(db, container, keep, ct);
        }
    }

    /// <summary>Deletes the container's lines older than its newest <paramref name="keep"/>.</summary>
    public static async Task TrimAsync(RegistryDbContext db, string container, int keep, CancellationToken ct)
    {
        var oldestKept = await db.NodeContainerLogs.Where(l => l.ContainerId == container)
            .OrderByDescending(l => l.Id).Skip(keep - 1).Select(l => (long?)l.Id).FirstOrDefaultAsync(ct);
        if (oldestKept is { } id)
        {
            await db.NodeContainerLogs.Where(l => l.ContainerId == container && l.Id < id).ExecuteDeleteAsync(ct);
        }
    }
}
