using System.Diagnostics;

namespace Registry.Api.Observability;

/// <summary>
/// Counts every answered request and its duration by method, route template (<see cref="RouteLabel"/>) and status, and
/// the bytes of completed blob GETs. Methods outside the standard set are counted as <c>OTHER</c>, so that a client
/// cannot make up series.
/// </summary>
internal static class RequestMetrics
{
    private const string BlobRoute = "/v2/{name}/blobs/{digest}";

    public static async Task InvokeAsync(HttpContext context, RequestDelegate next, RegistryMetrics metrics)
    {
        var started = Stopwatch.GetTimestamp();
        var failed = false;
        try
        {
            await next(context);
        }
        catch
        {
            failed = true;
            throw;
        }
        finally
        {
            // An exception that escapes becomes a 500 unless the answer had already started.
            var status = failed && !context.Response.HasStarted ? StatusCodes.Status500InternalServerError : context.Response.StatusCode;
            var route = RouteLabel.Of(context);
            metrics.RequestAnswered(Method(context.Request.Method), route, status, Stopwatch.GetElapsedTime(started));
            if (route == BlobRoute
                && HttpMethods.IsGet(context.Request.Method)
                && status is StatusCodes.Status200OK or StatusCodes.Status206PartialContent
                && !failed
                && !context.RequestAborted.IsCancellationRequested)
            {
                metrics.BytesSent(context.Response.ContentLength ?? 0);
            }
        }
    }

    private static string Method(string method) =>
        HttpMethods.IsGet(method) ? HttpMethods.Get
        : HttpMethods.IsHead(method) ? HttpMethods.Head
        : HttpMethods.IsPost(method) ? HttpMethods.Post
        : HttpMethods.IsPut(method) ? HttpMethods.Put
        : HttpMethods.IsPatch(method) ? HttpMethods.Patch
        : HttpMethods.IsDelete(method) ? HttpMethods.Delete
        : HttpMethods.IsOptions(method) ? HttpMethods.Options
        : "OTHER";
}
