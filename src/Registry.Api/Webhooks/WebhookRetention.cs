using Microsoft.Extensions.Options;
using Registry.Storage.Hosting;
using Registry.Storage.Webhooks;

namespace Registry.Api.Webhooks;

/// <summary>Removes webhook deliveries older than <see cref="WebhookOptions.Retention"/>, hourly, on every replica (idempotent).</summary>
public sealed partial class WebhookRetention(
    IServiceScopeFactory scopes, IOptions<WebhookOptions> options, TimeProvider time, ILogger<WebhookRetention> logger)
    : PeriodicChore(time, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromHours(1);

    protected override async Task RunOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var cutoff = Time.GetUtcNow().UtcDateTime - options.Value.Retention;
        var removed = await scope.ServiceProvider.GetRequiredService<WebhookDeliveryStore>().PruneAsync(cutoff, ct);
        if (removed > 0)
        {
            LogPruned(Logger, removed, cutoff);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} webhook deliveries older than {Cutoff:u}")]
    private static partial void LogPruned(ILogger logger, int count, DateTime cutoff);
}
