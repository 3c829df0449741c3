using Microsoft.Extensions.Diagnostics.HealthChecks;
using Registry.Storage.Blobs;

namespace Registry.Api.Observability;

/// <summary>
/// Ready when the blob store answers its probe (<see cref="IBlobStoreProbe"/>). Why it did not is the result's
/// description, which the health-check service logs and /readyz never shows.
/// </summary>
internal sealed class BlobStoreHealthCheck(IBlobStoreProbe probe) : IHealthCheck
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
            return HealthCheckResult.Unhealthy($"the blob store cannot be used: {e.Message}");
        }
    }
}
