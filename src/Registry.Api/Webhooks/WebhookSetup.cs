namespace Registry.Api.Webhooks;

public static class WebhookSetup
{
    /// <summary>Webhook management, the pull buffer, the dispatcher that sends deliveries and the retention chore.</summary>
    public static IServiceCollection AddRegistryWebhooks(this IServiceCollection services)
    {
        services.AddOptions<WebhookOptions>().BindConfiguration(WebhookOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddHttpClient(WebhookSender.ClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            })
            .RemoveAllLoggers(); // a receiver's URL may hold a token of its own in the query: it is not logged
        services.AddScoped<WebhookService>();
        services.AddSingleton<WebhookSender>();
        services.AddSingleton<WebhookPullEvents>();
        services.AddHostedService(sp => sp.GetRequiredService<WebhookPullEvents>());
        services.AddHostedService<WebhookDispatcher>();
        services.AddHostedService<WebhookRetention>();
        return services;
    }
}
