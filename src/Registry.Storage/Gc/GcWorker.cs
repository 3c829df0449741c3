using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Storage.Hosting;

namespace Registry.Storage.Gc;

/// <summary>
/// Collects in the background on every replica (they share the work through claims): every poll interval the reviews
/// that are due, and every sweep interval, starting with the first round, a sweep as well.
/// </summary>
public sealed class GcWorker(IServiceScopeFactory scopes, IOptions<GcOptions> options, TimeProvider time, ILogger<GcWorker> logger)
    : PeriodicChore(time, logger)
{
    private DateTime? _lastSweep;

    protected override TimeSpan Interval => options.Value.PollInterval;

    protected override async Task RunOnceAsync(CancellationToken ct)
    {
        if (!options.Value.Background)
        {
            return;
        }

        var now = Time.GetUtcNow().UtcDateTime;
        var sweep = _lastSweep is not { } last || now - last >= options.Value.SweepInterval;
        await using var scope = scopes.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<GarbageCollector>().RunAsync(dryRun: false, sweep, ct);
        if (sweep)
        {
            _lastSweep = now;
        }
    }
}
