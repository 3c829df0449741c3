using System.Globalization;
using Microsoft.AspNetCore.Authorization;
using Registry.Api.Hosting;
using Registry.Api.Identity;
using Registry.Api.Rest;
using Registry.Storage.Metadata;

namespace Registry.Api.Nodes;

/// <summary>
/// What the node agent calls: <c>POST /api/v1/nodes/join</c> without credentials (the join token is in the body;
/// rate limited like the rest of /api/v1), and <c>/api/v1/node/…</c> with the node's own credential, which no other
/// route accepts.
/// </summary>
internal static class AgentEndpoints
{
    public const string NodePrefix = ApiEndpoints.Prefix + "/node";

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGroup(ApiEndpoints.Prefix)
            .AddEndpointFilter(ApiErrors.HandleAsync)
            .DisableAntiforgery()
            .MapPost("/nodes/join", JoinAsync)
            .AllowAnonymous();

        var node = endpoints.MapGroup(NodePrefix)
            .RequireAuthorization(new AuthorizeAttribute { AuthenticationSchemes = NodeAuthenticationHandler.SchemeName })
            .AddEndpointFilter(ApiErrors.HandleAsync)
            .DisableAntiforgery();
        node.MapPost("/heartbeat", HeartbeatAsync);
        node.MapGet("/desired", DesiredAsync);
        node.MapPost("/logs", LogsAsync);
    }

    private static async Task<IResult> JoinAsync(HttpContext context, NodeJoin join, AuditLog audit, Microsoft.Extensions.Options.IOptions<NodeOptions> options)
    {
        var body = await ApiEndpoints.BodyAsync<JoinBody>(context);
        JoinedNode joined;
        try
        {
            joined = await join.JoinAsync(body, context.RequestAborted);
        }
        catch (ApiException e) when (e.Code == NodeJoin.JoinTokenInvalid)
        {
            await audit.WriteAsync(AuditActions.NodeJoin, null, body.Name, success: false, detail: e.Message);
            throw;
        }

        await audit.WriteAsync(AuditActions.NodeJoin, null, joined.Node.Name, detail: $"join token {joined.JoinTokenId}");

        // The credential is in this answer only.
        context.Response.Headers.CacheControl = "no-store";
        return Results.Created(
            $"{ApiEndpoints.Prefix}/nodes/{joined.Node.Name}",
            new JoinAnswer(joined.Node.Name, joined.Credential, options.Value.HeartbeatSeconds, joined.Node.JoinedAt));
    }

    private static async Task<IResult> HeartbeatAsync(HttpContext context, NodeAgentService agent)
    {
        var body = await ApiEndpoints.BodyAsync<HeartbeatBody>(context);
        return Results.Ok(await agent.HeartbeatAsync(NodeAuthenticationHandler.GetNode(context), body, context.RequestAborted));
    }

    private static async Task<IResult> DesiredAsync(HttpContext context, NodeAgentService agent)
    {
        var query = context.Request.Query;
        long? after = null;
        if (query["after"].ToString() is { Length: > 0 } afterText)
        {
            after = long.TryParse(afterText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var g)
                ? g
                : throw IdentityException.Invalid("after must be a generation (a whole number)");
        }

        var wait = 30;
        if (query["wait"].ToString() is { Length: > 0 } waitText
            && (!int.TryParse(waitText, NumberStyles.None, CultureInfo.InvariantCulture, out wait) || wait > NodeAgentService.MaxWait.TotalSeconds))
        {
            throw IdentityException.Invalid($"wait must be whole seconds from 0 to {NodeAgentService.MaxWait.TotalSeconds}");
        }

        var host = new Uri(PublicOrigin.Of(context)).Authority;
        try
        {
            var answer = await agent.DesiredAsync(NodeAuthenticationHandler.GetNode(context), after, TimeSpan.FromSeconds(wait), host, context.RequestAborted);
            context.Response.Headers.CacheControl = "no-store";
            return Results.Ok(answer);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // The agent gave up on the poll; nobody reads an answer.
            return Results.Empty;
        }
    }

    private static async Task<IResult> LogsAsync(HttpContext context, ContainerLogStore logs)
    {
        var body = await ApiEndpoints.BodyAsync<LogsBody>(context);
        return Results.Ok(await logs.AppendAsync(NodeAuthenticationHandler.GetNode(context), body, context.RequestAborted));
    }
}
