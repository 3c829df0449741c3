using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Registry.Storage.Metadata;

namespace Registry.Api.Observability;

/// <summary>
/// Probes for orchestrators, through ASP.NET Core health checks. <c>/healthz</c> (liveness) answers 200 as long as the
/// process serves requests, and touches nothing else: a database outage must not get every replica restarted.
/// <c>/readyz</c> (readiness) runs a trivial query on the metadata database and probes the blob store, each within
/// <see cref="CheckTimeout"/>, and answers 200 when both pass, else 503; its JSON body names each check and its status
/// and nothing else (why a check failed goes to the log). Neither needs credentials, and neither is rate limited.
/// </summary>
public static class HealthEndpoints
{
    public const string LivenessPath = "/healthz";
    public const string ReadinessPath = "/readyz";

    /// <summary>How long one readiness check may take before it counts as failed.</summary>
    public static readonly TimeSpan CheckTimeout = TimeSpan.FromSeconds(3);

    private const string ReadyTag = "ready";

    public static IServiceCollection AddRegistryHealthChecks(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddDbContextCheck<RegistryDbContext>("database", HealthStatus.Unhealthy, [ReadyTag], async (db, ct) =>
            {
                await db.Database.ExecuteSqlRawAsync("SELECT 1", ct);
                return true;
            })
            .AddCheck<BlobStoreHealthCheck>("blobStore", HealthStatus.Unhealthy, [ReadyTag], CheckTimeout);
        services.Configure<HealthCheckServiceOptions>(o =>
        {
            foreach (var registration in o.Registrations)
            {
                registration.Timeout = CheckTimeout;
            }
        });
        return services;
    }

    public static IEndpointRouteBuilder MapRegistryHealthChecks(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks(LivenessPath, new HealthCheckOptions { Predicate = _ => false, ResponseWriter = WriteAsync });
        endpoints.MapHealthChecks(ReadinessPath, new HealthCheckOptions { Predicate = r => r.Tags.Contains(ReadyTag), ResponseWriter = WriteAsync });
        return endpoints;
    }

    /// <summary><c>{"status":"Unhealthy","checks":{"database":"Healthy","blobStore":"Unhealthy"}}</c>, never cached.</summary>
    private static Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        var body = new Dictionary<string, object>
        {
            ["status"] = report.Status.ToString(),
            ["checks"] = report.Entries.ToDictionary(e => e.Key, e => e.Value.Status.ToString()),
        };
        return context.Response.WriteAsync(JsonSerializer.Serialize(body), context.RequestAborted);
    }
}
