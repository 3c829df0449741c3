using Microsoft.Extensions.Diagnostics.HealthChecks;
using Registry.Storage.Blobs;

namespace Registry.Api.Observability;

/// <summary>Ready when the blob store answers its probe (<see cref="IBlobStoreProbe"/>); why it did not goes to the log only.</summary>
internal sealed partial class BlobStoreHealthCheck(IBlobStoreProbe probe, ILogger<BlobStoreHealthCheck> logger) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await probe.ProbeAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogUnreachable(logger, e.Message);
            return HealthCheckResult.Unhealthy();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Readiness: the blob store cannot be used: {Error}")]
    private static partial void LogUnreachable(ILogger logger, string error);
}
