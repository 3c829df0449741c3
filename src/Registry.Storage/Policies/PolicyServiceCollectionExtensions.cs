using Microsoft.Extensions.DependencyInjection;

namespace Registry.Storage.Policies;

public static class PolicyServiceCollectionExtensions
{
    /// <summary>Namespace quotas and immutable tags: their settings and the checks pushes and deletes go through.</summary>
    public static IServiceCollection AddRegistryPolicies(this IServiceCollection services)
    {
        services.AddScoped<NamespaceUsage>();
        services.AddScoped<ContentPolicies>();
        services.AddScoped<PolicyService>();
        return services;
    }
}
