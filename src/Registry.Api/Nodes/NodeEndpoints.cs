using System.Text.Json.Serialization;
using Registry.Api.Identity;
using Registry.Api.Rest;
using Registry.Storage.Metadata;
using Registry.Storage.Nodes;

namespace Registry.Api.Nodes;

/// <summary>
/// <c>/api/v1/nodes</c> on the user API: the nodes' status for everyone signed in; join tokens, cordon, drain,
/// labels and removal for administrators.
/// </summary>
internal static class NodeEndpoints
{
    public sealed record CapacityView(double Cpus, long MemoryBytes, long DiskFreeBytes);

    public sealed record AllocatedView(long MemoryBytes, long Containers);

    public sealed record NodeView(
        string Name, string Status, IReadOnlyDictionary<string, string> Labels, CapacityView Capacity, AllocatedView Allocated,
        DateTime LastSeen, string? AgentVersion, double ClockSkewSeconds, DateTime JoinedAt, IReadOnlyList<string> Warnings);

    public sealed record JoinTokenView(
        long Id, [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Token, int Uses, int Used,
        DateTime ExpiresAt, DateTime CreatedAt, string? CreatedBy);

    public sealed record JoinTokenBody(int? Uses, string? ExpiresIn);

    public sealed record LabelsBody(Dictionary<string, string>? Labels);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/nodes", ListAsync);
        api.MapGet("/nodes/{name}", GetAsync);
        api.MapPatch("/nodes/{name}", LabelsAsync);
        api.MapDelete("/nodes/{name}", RemoveAsync);
        api.MapPost("/nodes/{name}/cordon", (string name, HttpContext c, NodeService n, AuditLog a) => CordonAsync(name, true, c, n, a));
        api.MapPost("/nodes/{name}/uncordon", (string name, HttpContext c, NodeService n, AuditLog a) => CordonAsync(name, false, c, n, a));
        api.MapPost("/nodes/{name}/drain", DrainAsync);
        api.MapGet("/nodes/join-tokens", ListTokensAsync);
        api.MapPost("/nodes/join-tokens", CreateTokenAsync);
        api.MapDelete("/nodes/join-tokens/{id:long}", DeleteTokenAsync);
    }

    private static async Task<IResult> ListAsync(NodeService nodes, HttpContext context) =>
        Results.Ok((await nodes.ListAsync(context.RequestAborted)).Select(View));

    private static async Task<IResult> GetAsync(string name, NodeService nodes, HttpContext context) =>
        Results.Ok(View(await nodes.GetAsync(name, context.RequestAborted)));

    private static async Task<IResult> LabelsAsync(string name, HttpContext context, NodeService nodes, AuditLog audit)
    {
        var caller = Admin(context);
        var body = await ApiEndpoints.BodyAsync<LabelsBody>(context);
        var status = await nodes.SetLabelsAsync(name, body.Labels, context.RequestAborted);
        await audit.WriteAsync(AuditActions.NodeLabels, caller.Name, name, detail: status.Node.Labels);
        return Results.Ok(View(status));
    }

    private static async Task<IResult> CordonAsync(string name, bool cordon, HttpContext context, NodeService nodes, AuditLog audit)
    {
        var caller = Admin(context);
        var status = await nodes.SetCordonAsync(name, cordon, context.RequestAborted);
        await audit.WriteAsync(cordon ? AuditActions.NodeCordon : AuditActions.NodeUncordon, caller.Name, name);
        return Results.Ok(View(status));
    }

    private static async Task<IResult> DrainAsync(string name, HttpContext context, NodeService nodes, AuditLog audit)
    {
        var caller = Admin(context);
        var status = await nodes.DrainAsync(name, context.RequestAborted);
        await audit.WriteAsync(AuditActions.NodeDrain, caller.Name, name);
        return Results.Ok(View(status));
    }

    private static async Task<IResult> RemoveAsync(string name, HttpContext context, NodeService nodes, AuditLog audit)
    {
        var caller = Admin(context);
        var node = await nodes.RemoveAsync(name, context.RequestAborted);
        await audit.WriteAsync(AuditActions.NodeRemove, caller.Name, name, detail: $"id={node.Id}");
        return Results.NoContent();
    }

    private static async Task<IResult> ListTokensAsync(HttpContext context, JoinTokenService tokens)
    {
        Admin(context);
        return Results.Ok((await tokens.ListAsync(context.RequestAborted)).Select(t => View(t, secret: null)));
    }

    private static async Task<IResult> CreateTokenAsync(HttpContext context, JoinTokenService tokens, AuditLog audit)
    {
        var caller = Admin(context);
        var body = context.Request.ContentLength == 0 ? new JoinTokenBody(null, null) : await ApiEndpoints.BodyAsync<JoinTokenBody>(context);
        var created = await tokens.CreateAsync(body.Uses, body.ExpiresIn, caller.Name, context.RequestAborted);
        await audit.WriteAsync(AuditActions.JoinTokenCreate, caller.Name, $"join token {created.Token.Id}",
            detail: $"uses={created.Token.Uses} expires={created.Token.ExpiresAt:yyyy-MM-dd'T'HH:mm:ss'Z'}");

        // The token is in this answer only.
        context.Response.Headers.CacheControl = "no-store";
        return Results.Created($"{ApiEndpoints.Prefix}/nodes/join-tokens/{created.Token.Id}", View(created.Token, created.Secret));
    }

    private static async Task<IResult> DeleteTokenAsync(long id, HttpContext context, JoinTokenService tokens, AuditLog audit)
    {
        var caller = Admin(context);
        await tokens.DeleteAsync(id, context.RequestAborted);
        await audit.WriteAsync(AuditActions.JoinTokenDelete, caller.Name, $"join token {id}");
        return Results.NoContent();
    }

    private static Caller Admin(HttpContext context)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        ApiEndpoints.RequireAdmin(caller);
        return caller;
    }

    private static JoinTokenView View(NodeJoinTokenEntity t, string? secret) =>
        new(t.Id, secret, t.Uses, t.Used, t.ExpiresAt, t.CreatedAt, t.CreatedBy);

    private static NodeView View(NodeStatus s)
    {
        var n = s.Node;
        return new NodeView(
            n.Name, s.Status, NodeScheduler.ParseLabels(n.Labels), new CapacityView(n.Cpus, n.MemoryBytes, n.DiskFreeBytes),
            new AllocatedView(n.AllocatedMemoryBytes, s.AllocatedContainers), n.LastSeenAt, n.AgentVersion, n.ClockSkewSeconds, n.JoinedAt, s.Warnings);
    }
}
