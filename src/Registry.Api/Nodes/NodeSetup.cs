using Microsoft.AspNetCore.Authentication;

namespace Registry.Api.Nodes;

public static class NodeSetup
{
    /// <summary>Registered nodes: their options, authentication scheme, services, the generation watch and the monitor.</summary>
    public static IServiceCollection AddRegistryNodes(this IServiceCollection services)
    {
        services.AddOptions<NodeOptions>().BindConfiguration(NodeOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, NodeAuthenticationHandler>(NodeAuthenticationHandler.SchemeName, _ => { });
        services.AddScoped<JoinTokenService>();
        services.AddScoped<NodeJoin>();
        services.AddScoped<NodeScheduler>();
        services.AddScoped<ContainerPlacements>();
        services.AddScoped<NodeService>();
        services.AddScoped<ContainerService>();
        services.AddScoped<ContainerLogStore>();
        services.AddScoped<NodeAgentService>();
        services.AddSingleton<GenerationWatch>();
        services.AddHostedService(sp => sp.GetRequiredService<GenerationWatch>());
        services.AddHostedService<NodeMonitor>();
        services.AddHostedService<NodeLogTrimmer>();
        return services;
    }

    /// <summary>The node and container routes: the user API's under its group, the agent's beside it.</summary>
    internal static void MapNodeApi(RouteGroupBuilder api, IEndpointRouteBuilder endpoints)
    {
        NodeEndpoints.Map(api);
        ContainerEndpoints.Map(api);
        AgentEndpoints.Map(endpoints);
    }
}
