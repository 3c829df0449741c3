using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Options;

namespace Registry.Api.Hosting;

/// <summary>
/// Forwarded headers, believed from the configured proxies only (<see cref="ProxyOptions"/>), through ASP.NET Core's
/// forwarded-headers middleware. ASP.NET's own switch, <c>ASPNETCORE_FORWARDEDHEADERS_ENABLED=true</c>, would believe
/// them from every address (it empties the lists of known proxies, and empty lists trust everyone): the options that
/// switch sets are overridden so that it changes nothing, and a warning says so. The headers taken are
/// <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c>; <c>X-Forwarded-Host</c> never is (see <see cref="PublicOrigin"/>).
/// </summary>
public static partial class ProxyHeaders
{
    private static readonly object TrustedProxyKey = new();

    public static IServiceCollection AddProxyHeaders(this IServiceCollection services)
    {
        services.AddOptions<ProxyOptions>().BindConfiguration(ProxyOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<PublicUrlOptions>().BindConfiguration(PublicUrlOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.PostConfigure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.None;
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
        });
        services.AddTransient<IStartupFilter, StartupFilter>();
        return services;
    }

    /// <summary>Whether the request's connection came from a trusted proxy (whose headers were applied).</summary>
    public static bool CameThroughTrustedProxy(HttpContext context) => context.Items.ContainsKey(TrustedProxyKey);

    private static ForwardedHeadersOptions MiddlewareOptions(ProxyOptions proxy)
    {
        var options = new ForwardedHeadersOptions
        {
            ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto,
            ForwardLimit = proxy.ForwardLimit,
        };
        options.KnownProxies.Clear();
        options.KnownIPNetworks.Clear();
        foreach (var address in proxy.Proxies())
        {
            options.KnownProxies.Add(address);
        }

        foreach (var network in proxy.Networks())
        {
            options.KnownIPNetworks.Add(network);
        }

        return options;
    }

    private static bool IsTrusted(ForwardedHeadersOptions options, System.Net.IPAddress? address)
    {
        if (address is null)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return options.KnownProxies.Contains(address) || options.KnownIPNetworks.Any(n => n.Contains(address));
    }

    /// <summary>Puts the middleware first, before anything reads the client's address or the scheme.</summary>
    private sealed class StartupFilter(IOptions<ProxyOptions> proxy, IConfiguration configuration, ILogger<StartupFilter> logger) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            if (string.Equals(configuration["ForwardedHeaders_Enabled"], "true", StringComparison.OrdinalIgnoreCase))
            {
                LogFrameworkSwitchIgnored(logger);
            }

            if (proxy.Value.Enabled)
            {
                var options = MiddlewareOptions(proxy.Value);
                app.Use((context, nextMiddleware) =>
                {
                    if (IsTrusted(options, context.Connection.RemoteIpAddress))
                    {
                        context.Items[TrustedProxyKey] = true;
                    }

                    return nextMiddleware(context);
                });
                app.UseForwardedHeaders(options);
            }

            next(app);
        };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "ASPNETCORE_FORWARDEDHEADERS_ENABLED is ignored: forwarded headers are believed only from the proxies in Registry:Proxy:KnownProxies and Registry:Proxy:KnownNetworks")]
    private static partial void LogFrameworkSwitchIgnored(ILogger logger);
}
