using Microsoft.Extensions.DependencyInjection;

namespace Registry.Storage.Retention;

public static class RetentionServiceCollectionExtensions
{
    /// <summary>Retention policies, their runner and scheduler, and the recorder of pull times they read.</summary>
    public static IServiceCollection AddRegistryRetention(this IServiceCollection services)
    {
        services.AddOptions<RetentionOptions>().BindConfiguration(RetentionOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddScoped<RetentionPolicyService>();
        services.AddScoped<RetentionPlanner>();
        services.AddScoped<RetentionRunner>();
        services.AddSingleton<PullRecorder>();
        services.AddHostedService(sp => sp.GetRequiredService<PullRecorder>());
        services.AddSingleton<RetentionScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<RetentionScheduler>());
        return services;
    }
}
