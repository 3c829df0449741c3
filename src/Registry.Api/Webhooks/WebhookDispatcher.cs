using Microsoft.Extensions.Options;
using Registry.Storage.Webhooks;

namespace Registry.Api.Webhooks;

/// <summary>
/// Sends due deliveries, on every replica. It claims as many as it has free slots (<see cref="WebhookOptions.MaxConcurrency"/>)
/// with a lease in the database, sends each on its own within the timeout, and records the outcome: delivered, due
/// again after the next back-off, or failed after the last attempt. A receiver that hangs holds one slot for at most
/// the timeout; the others keep sending.
/// </summary>
public sealed partial class WebhookDispatcher(
    IServiceScopeFactory scopes, WebhookSender sender, IOptions<WebhookOptions> options, TimeProvider time, ILogger<WebhookDispatcher> logger)
    : BackgroundService
{
    /// <summary>Beyond the timeout, how long a claim is held before another replica may take the delivery over.</summary>
    private static readonly TimeSpan LeaseMargin = TimeSpan.FromMinutes(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        using var slots = new SemaphoreSlim(settings.MaxConcurrency, settings.MaxConcurrency);
        while (!stoppingToken.IsCancellationRequested)
        {
            await slots.WaitAsync(stoppingToken);
            var free = 1;
            while (free < settings.MaxConcurrency && slots.Wait(0, CancellationToken.None))
            {
                free++;
            }

            IReadOnlyList<ClaimedDelivery> claimed = [];
            try
            {
                claimed = await ClaimAsync(free, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogClaimFailed(logger, e);
            }

            foreach (var claim in claimed)
            {
                _ = DeliverAndReleaseAsync(claim, slots, stoppingToken);
            }

            if (free > claimed.Count)
            {
                slots.Release(free - claimed.Count);

                // Nothing more is due now: wait before looking again.
                await Task.Delay(settings.PollInterval, time, stoppingToken);
            }
        }
    }

    private async Task<IReadOnlyList<ClaimedDelivery>> ClaimAsync(int limit, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var now = time.GetUtcNow().UtcDateTime;
        return await scope.ServiceProvider.GetRequiredService<WebhookDeliveryStore>()
            .ClaimAsync(now, now + options.Value.Timeout + LeaseMargin, limit, ct);
    }

    private async Task DeliverAndReleaseAsync(ClaimedDelivery claim, SemaphoreSlim slots, CancellationToken ct)
    {
        // Off the claiming loop at once, so that a slow connect cannot hold the loop.
        await Task.Yield();
        try
        {
            var result = await sender.SendAsync(claim, ct);
            var now = time.GetUtcNow().UtcDateTime;
            var attempts = claim.Delivery.Attempts + 1;
            DateTime? retryAt = result.Succeeded ? null : options.Value.DelayAfter(attempts) is { } delay ? now + delay : null;
            await using (var scope = scopes.CreateAsyncScope())
            {
                await scope.ServiceProvider.GetRequiredService<WebhookDeliveryStore>().CompleteAsync(claim, result, now, retryAt, ct);
            }

            if (!result.Succeeded)
            {
                LogAttemptFailed(logger, claim.Delivery.Id, claim.Delivery.Event, claim.WebhookId, attempts, result.StatusCode, result.Error, retryAt);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Shutting down: the lease runs out and a replica sends the delivery again.
        }
        catch (Exception e)
        {
            LogDeliveryFailed(logger, e, claim.Delivery.Id);
        }
        finally
        {
            slots.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not claim webhook deliveries; trying again")]
    private static partial void LogClaimFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook delivery {DeliveryId} ({Event}) to webhook {WebhookId} failed attempt {Attempt}: status {StatusCode}, {Error}; next attempt {RetryAt:u}")]
    private static partial void LogAttemptFailed(ILogger logger, long deliveryId, string @event, string webhookId, int attempt, int? statusCode, string? error, DateTime? retryAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Webhook delivery {DeliveryId} could not be recorded; it is sent again when its lease runs out")]
    private static partial void LogDeliveryFailed(ILogger logger, Exception exception, long deliveryId);
}
