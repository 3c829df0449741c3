using Microsoft.AspNetCore.Routing.Patterns;

namespace Registry.Api.Observability;

/// <summary>
/// The route a request is counted under in metrics: a template, never the path, so that repository names, digests
/// and upload ids do not each become a series of their own. An endpoint that serves several routes (the /v2
/// dispatcher) names the one it took; otherwise the endpoint's own route pattern is used.
/// </summary>
public static class RouteLabel
{
    /// <summary>What a request that matched no endpoint is counted under.</summary>
    public const string Unmatched = "unmatched";

    private static readonly object Key = new();

    public static void Set(HttpContext context, string template) => context.Items[Key] = template;

    public static string Of(HttpContext context)
    {
        if (context.Items.TryGetValue(Key, out var set) && set is string template)
        {
            return template;
        }

        return context.GetEndpoint() switch
        {
            RouteEndpoint { RoutePattern: RoutePattern { RawText: { } raw } } => raw.StartsWith('/') ? raw : "/" + raw,
            { DisplayName: { } name } => name,
            _ => Unmatched,
        };
    }
}
