using Microsoft.Extensions.Options;
using Prometheus;
using Registry.Storage.Observability;

namespace Registry.Api.Observability;

/// <summary>
/// Health and readiness probes, Prometheus metrics and request ids (docs/observability.md). The request id and the
/// request metrics run first, right after the forwarded headers, so that every answer is counted and carries its id,
/// those of the rate limiter and the error pages included.
/// </summary>
public static class ObservabilitySetup
{
    public const string MetricsPath = "/metrics";

    public static IServiceCollection AddRegistryObservability(this IServiceCollection services)
    {
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RegistryMetrics>();
        services.AddSingleton<IStorageMetrics>(sp => sp.GetRequiredService<RegistryMetrics>());
        services.AddSingleton<MetricsAccess>();
        services.AddRegistryHealthChecks();
        services.AddTransient<IStartupFilter, StartupFilter>();
        return services;
    }

    public static IEndpointRouteBuilder MapRegistryObservability(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapRegistryHealthChecks();
        var services = endpoints.ServiceProvider;
        if (services.GetRequiredService<IOptions<MetricsOptions>>().Value.Enabled)
        {
            var access = services.GetRequiredService<MetricsAccess>();
            var exporter = endpoints.CreateApplicationBuilder()
                .UseMiddleware<MetricServerMiddleware>(new MetricServerMiddleware.Settings { Registry = services.GetRequiredService<RegistryMetrics>().Registry })
                .Build();
            endpoints.MapGet(MetricsPath, context =>
            {
                if (access.Allows(context))
                {
                    return exporter(context);
                }

                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            });
        }

        return endpoints;
    }

    /// <summary>Runs after the forwarded-headers filter, which was registered before it (see <see cref="Hosting.ProxyHeaders"/>).</summary>
    private sealed class StartupFilter(RegistryMetrics metrics) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use(RequestId.InvokeAsync);
            app.Use((context, nextMiddleware) => RequestMetrics.InvokeAsync(context, nextMiddleware, metrics));
            next(app);
        };
    }
}
