using System.Globalization;
using System.Text;
using Microsoft.Extensions.Options;
using Registry.Api.Hosting;
using Registry.Api.Identity;
using Registry.Api.Rest;
using Registry.Storage.Metadata;

namespace Registry.Api.Nodes;

/// <summary><c>/api/v1/containers</c>: run images on nodes, watch and manage them, read their output.</summary>
internal static class ContainerEndpoints
{
    public sealed record ContainerView(
        string Id, string Name, string? Node, string Image, string Digest, IReadOnlyList<string>? Command, IReadOnlyList<string> Env,
        IReadOnlyList<string> Ports, IReadOnlyList<string> Volumes, long? Memory, double? Cpus, int? Pids, string Restart, bool Pinned,
        IReadOnlyDictionary<string, string>? Selector, string Desired, string State, int? ExitCode, int RestartCount, string? Error,
        string CreatedBy, DateTime CreatedAt, DateTime? StartedAt, DateTime? FinishedAt);

    private const int FollowBatch = 1000;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/containers", CreateAsync);
        api.MapGet("/containers", ListAsync);
        api.MapGet("/containers/{id}", GetAsync);
        api.MapPost("/containers/{id}/stop", StopAsync);
        api.MapPost("/containers/{id}/start", (string id, HttpContext c, ContainerService s, AuditLog a) => StartAsync(id, AuditActions.ContainerStart, c, s, a));
        api.MapPost("/containers/{id}/restart", (string id, HttpContext c, ContainerService s, AuditLog a) => StartAsync(id, AuditActions.ContainerRestart, c, s, a));
        api.MapDelete("/containers/{id}", DeleteAsync);
        api.MapGet("/containers/{id}/logs", LogsAsync);
    }

    private static async Task<IResult> CreateAsync(HttpContext context, ContainerService containers, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        var body = await ApiEndpoints.BodyAsync<ContainerBody>(context);
        var host = new Uri(PublicOrigin.Of(context)).Authority;
        var created = await containers.CreateAsync(caller, body, host, context.RequestAborted);
        var c = created.Container;
        await audit.WriteAsync(AuditActions.ContainerCreate, caller.Name, c.Id, detail: $"{c.Reference} ({c.Digest}) on {created.Node}");
        return Results.Created($"{ApiEndpoints.Prefix}/containers/{c.Id}", View(created));
    }

    private static async Task<IResult> ListAsync(string? node, HttpContext context, ContainerService containers) =>
        Results.Ok((await containers.ListAsync(ApiAuthenticationHandler.GetCaller(context), node, context.RequestAborted)).Select(View));

    private static async Task<IResult> GetAsync(string id, HttpContext context, ContainerService containers) =>
        Results.Ok(View(await containers.FindAsync(ApiAuthenticationHandler.GetCaller(context), id, context.RequestAborted)));

    private static async Task<IResult> StopAsync(string id, HttpContext context, ContainerService containers, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        var stopped = await containers.StopAsync(caller, id, context.RequestAborted);
        await audit.WriteAsync(AuditActions.ContainerStop, caller.Name, id);
        return Results.Ok(View(stopped));
    }

    private static async Task<IResult> StartAsync(string id, string action, HttpContext context, ContainerService containers, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        var started = await containers.StartAsync(caller, id, context.RequestAborted);
        await audit.WriteAsync(action, caller.Name, id);
        return Results.Ok(View(started));
    }

    private static async Task<IResult> DeleteAsync(string id, HttpContext context, ContainerService containers, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        var deleted = await containers.DeleteAsync(caller, id, context.RequestAborted);
        await audit.WriteAsync(AuditActions.ContainerDelete, caller.Name, id, detail: deleted.Container.Reference);
        return Results.NoContent();
    }

    /// <summary>
    /// The container's output as text, one line each. With <c>follow=true</c> the answer stays open and new lines are
    /// read from the database as they arrive (so any replica can serve it), until the client goes or the container is
    /// removed.
    /// </summary>
    private static async Task LogsAsync(
        string id, HttpContext context, ContainerService containers, ContainerLogStore logs, IOptions<NodeOptions> options)
    {
        var ct = context.RequestAborted;
        var query = context.Request.Query;
        int? tail = null;
        DateTime? since = null;
        var follow = string.Equals(query["follow"], "true", StringComparison.OrdinalIgnoreCase) || query["follow"] == "1";
        if (query["tail"].ToString() is { Length: > 0 } tailText && tailText != "all")
        {
            tail = int.TryParse(tailText, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
                ? n
                : throw IdentityException.Invalid("tail must be a number of lines (or all)");
        }

        if (query["since"].ToString() is { Length: > 0 } sinceText)
        {
            since = DateTimeOffset.TryParse(sinceText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t)
                ? t.UtcDateTime
                : throw IdentityException.Invalid("since must be a time such as 2026-01-02T15:04:05Z");
        }

        await containers.FindAsync(ApiAuthenticationHandler.GetCaller(context), id, ct);
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        var lines = await logs.ReadAsync(id, tail, since, ct);
        await WriteAsync(context, lines);
        if (!follow)
        {
            return;
        }

        // Flushed at once, so the client sees the answer start before the first new line.
        await context.Response.Body.FlushAsync(ct);
        var last = lines.Count > 0 ? (lines[^1].Placement, lines[^1].Offset) : await logs.EndAsync(id, ct);
        try
        {
            while (true)
            {
                // Real time: this is how often a held request looks for new lines.
                await Task.Delay(options.Value.WatchInterval, ct);
                var next = await logs.ReadAfterAsync(id, last.Item1, last.Item2, FollowBatch, ct);
                if (next.Count == 0)
                {
                    if (!await logs.ContainerExistsAsync(id, ct))
                    {
                        return;
                    }

                    continue;
                }

                await WriteAsync(context, next);
                await context.Response.Body.FlushAsync(ct);
                last = (next[^1].Placement, next[^1].Offset);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The client went away: following ends with it.
        }
    }

    private static async Task WriteAsync(HttpContext context, List<StoredLogLine> lines)
    {
        if (lines.Count == 0)
        {
            return;
        }

        var text = new StringBuilder();
        foreach (var line in lines)
        {
            text.Append(line.Text.TrimEnd('\n')).Append('\n');
        }

        await context.Response.WriteAsync(text.ToString(), context.RequestAborted);
    }

    private static ContainerView View(ContainerRecord record)
    {
        var c = record.Container;
        return new ContainerView(
            c.Id, c.Name, record.Node, c.Reference, c.Digest, NodeAgentService.ReadList(c.Command), NodeAgentService.ReadList(c.Env) ?? [],
            NodeAgentService.ReadList(c.Ports) ?? [], NodeAgentService.ReadList(c.Volumes) ?? [], c.MemoryBytes, c.Cpus, c.Pids, c.Restart, c.Pinned,
            c.Selector is null ? null : NodeScheduler.ParseLabels(c.Selector), c.Desired, c.State, c.ExitCode, c.RestartCount, c.Error,
            record.CreatedBy, c.CreatedAt, c.StartedAt, c.FinishedAt);
    }
}
