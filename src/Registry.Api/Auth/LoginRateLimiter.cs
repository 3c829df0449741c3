using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using Registry.Api.Distribution;
using Registry.Api.Identity;
using Registry.Api.Rest;
using Registry.Core;

namespace Registry.Api.Auth;

/// <summary>
/// ASP.NET Core's rate limiter in front of every surface that checks credentials, where each request may cost a
/// password hash: a fixed window per client network (<see cref="ClientNetwork"/>) chained with one for everyone
/// (<see cref="RateLimitOptions"/>). A refused request gets 429 with Retry-After in its surface's own error format.
/// The limiter runs only for those surfaces: /v2 requests, which carry registry tokens, never meet it. Each replica
/// counts its own requests.
/// </summary>
public static class LoginRateLimiter
{
    private const string Message = "too many requests; try again later";

    /// <summary>The surfaces the limiter guards, each with its own error format.</summary>
    private enum Surface
    {
        None,
        TokenEndpoint,
        RestApi,
        Search,
        SignInForm,
    }

    public static IServiceCollection AddLoginRateLimiter(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitOptions>>((o, settings) =>
        {
            var limits = settings.Value;
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.GlobalLimiter = PartitionedRateLimiter.CreateChained(
                PartitionedRateLimiter.Create<HttpContext, string>(context =>
                    RateLimitPartition.GetFixedWindowLimiter(ClientNetwork.Of(context), _ => Window(limits.PerAddressLimit, limits.Window))),
                PartitionedRateLimiter.Create<HttpContext, string>(_ =>
                    RateLimitPartition.GetFixedWindowLimiter(string.Empty, _ => Window(limits.GlobalLimit, limits.Window))));
            o.OnRejected = (rejected, _) => new ValueTask(RefuseAsync(rejected.HttpContext, rejected.Lease, limits.Window));
        });
        return services;
    }

    /// <summary>Puts the limiter in front of the guarded surfaces; after the UI's status code pages, which render its 429 for the forms.</summary>
    public static WebApplication UseLoginRateLimiter(this WebApplication app)
    {
        app.UseWhen(context => SurfaceOf(context.Request) != Surface.None, limited => limited.UseRateLimiter());
        return app;
    }

    private static FixedWindowRateLimiterOptions Window(int permits, TimeSpan window) =>
        new() { PermitLimit = permits, Window = window, QueueLimit = 0, AutoReplenishment = true };

    private static Surface SurfaceOf(HttpRequest request)
    {
        var path = request.Path;
        if (path.Equals(RegistryChallenge.TokenPath, StringComparison.OrdinalIgnoreCase))
        {
            return Surface.TokenEndpoint;
        }

        // The node agent's API checks a random credential by its SHA-256, never a password, and its heartbeats and
        // polls would count against the limits of every node behind one address: like /v2, it is not limited.
        if (path.StartsWithSegments(Nodes.AgentEndpoints.NodePrefix, StringComparison.OrdinalIgnoreCase))
        {
            return Surface.None;
        }

        if (path.StartsWithSegments(ApiEndpoints.Prefix, StringComparison.OrdinalIgnoreCase))
        {
            return Surface.RestApi;
        }

        if (path.StartsWithSegments("/v1/search", StringComparison.OrdinalIgnoreCase))
        {
            return Surface.Search;
        }

        return HttpMethods.IsPost(request.Method)
            && (path.Equals("/login", StringComparison.OrdinalIgnoreCase) || path.Equals("/signup", StringComparison.OrdinalIgnoreCase))
            ? Surface.SignInForm
            : Surface.None;
    }

    private static Task RefuseAsync(HttpContext context, RateLimitLease lease, TimeSpan window)
    {
        var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : window;
        context.Response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return SurfaceOf(context.Request) switch
        {
            Surface.TokenEndpoint when HttpMethods.IsPost(context.Request.Method) =>
                TokenEndpoints.OAuthErrorAsync(context, StatusCodes.Status429TooManyRequests, "too_many_requests", Message),
            Surface.TokenEndpoint or Surface.Search =>
                DistributionErrors.WriteAsync(context, ErrorCode.TooManyRequests with { Message = Message }, null),
            Surface.RestApi => ApiErrors.WriteAsync(context, StatusCodes.Status429TooManyRequests, "TOO_MANY_REQUESTS", Message),

            // The forms get the UI's error page for 429, which says how long to wait.
            _ => Task.CompletedTask,
        };
    }
}
