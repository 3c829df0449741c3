using Registry.Api.Identity;
using Registry.Storage.Gc;
using Registry.Storage.Metadata;

namespace Registry.Api.Rest;

/// <summary><c>POST /api/v1/admin/gc</c>: an administrator starts a collection run (or a dry run) and gets its report.</summary>
internal static class GcEndpoints
{
    public sealed record RunRequest(bool? DryRun);

    public static void Map(RouteGroupBuilder api) => api.MapPost("/admin/gc", RunAsync);

    private static async Task<IResult> RunAsync(HttpContext context, GarbageCollector collector, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        ApiEndpoints.RequireAdmin(caller);

        // An empty body is a real run, as `admin gc` without --dry-run is.
        var hasBody = context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0;
        var dryRun = hasBody && ((await ApiEndpoints.BodyAsync<RunRequest>(context)).DryRun ?? false);
        var report = await collector.RunAsync(dryRun, sweep: true, context.RequestAborted);
        if (!dryRun)
        {
            await audit.WriteAsync(AuditActions.GcRun, caller.Name, target: null, detail: Describe(report));
        }

        return Results.Ok(report);
    }

    internal static string Describe(GcReport report) =>
        $"{report.Blobs} blobs ({report.Bytes} bytes), {report.Manifests} manifests, {report.Links} links, {report.Repositories} repositories";
}
