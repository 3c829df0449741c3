using Microsoft.Extensions.Options;
using Registry.Api.Identity;
using Registry.Api.Rest;
using Registry.Storage.Metadata;
using Registry.Storage.Retention;
using Registry.Storage.Services;

namespace Registry.Api.Retention;

/// <summary>
/// <c>/api/v1/namespaces/{ns}/retention-policies</c>: list, create, read, replace and delete a namespace's policies,
/// run one (dry or real) and read its last runs. Only those who may administer the namespace reach them.
/// </summary>
internal static class RetentionEndpoints
{
    public sealed record PolicyView(
        long Id,
        string Namespace,
        string? Repository,
        string TagPattern,
        int? KeepMostRecent,
        string? KeepYoungerThan,
        string? KeepPulledWithin,
        string? UntaggedOlderThan,
        string? Schedule,
        bool Enabled,
        string? CreatedBy,
        DateTime CreatedAt,
        DateTime UpdatedAt,
        DateTime? LastRunAt,
        DateTime? NextRunAt);

    public sealed record RunRequest(bool? DryRun);

    public static void Map(RouteGroupBuilder api)
    {
        var group = api.MapGroup("/namespaces/{ns}/retention-policies");
        group.MapGet("", ListAsync);
        group.MapPost("", CreateAsync);
        group.MapGet("/{id:long}", GetAsync);
        group.MapPut("/{id:long}", UpdateAsync);
        group.MapDelete("/{id:long}", DeleteAsync);
        group.MapPost("/{id:long}/run", RunAsync);
        group.MapGet("/{id:long}/runs", RunsAsync);
    }

    public static PolicyView View(RetentionPolicyEntity p) => new(
        p.Id, p.Namespace, p.Repository, p.TagPattern, p.KeepMostRecent, p.KeepYoungerThan, p.KeepPulledWithin, p.UntaggedOlderThan,
        p.Schedule, p.Enabled, p.CreatedBy, p.CreatedAt, p.UpdatedAt, p.LastRunAt, p.NextRunAt);

    private static async Task<IResult> ListAsync(string ns, HttpContext context, PermissionService permissions, RetentionPolicyService policies)
    {
        await RequireAsync(context, ns, permissions);
        var list = await policies.ListAsync(ns, context.RequestAborted);
        return Results.Ok(list.Select(View));
    }

    private static async Task<IResult> CreateAsync(string ns, HttpContext context, PermissionService permissions, RetentionPolicyService policies, AuditLog audit)
    {
        var caller = await RequireAsync(context, ns, permissions);
        var input = await InputAsync(context, ns);
        var policy = await policies.CreateAsync(ns, input, caller.Name, context.RequestAborted);
        await audit.WriteAsync(RetentionAuditActions.PolicyCreate, caller.Name, RetentionPolicyService.Target(ns, policy.Id), detail: Describe(policy));
        return Results.Created($"{ApiEndpoints.Prefix}/namespaces/{ns}/retention-policies/{policy.Id}", View(policy));
    }

    private static async Task<IResult> GetAsync(string ns, long id, HttpContext context, PermissionService permissions, RetentionPolicyService policies)
    {
        await RequireAsync(context, ns, permissions);
        return Results.Ok(View(await FindAsync(ns, id, policies, context.RequestAborted)));
    }

    private static async Task<IResult> UpdateAsync(string ns, long id, HttpContext context, PermissionService permissions, RetentionPolicyService policies, AuditLog audit)
    {
        var caller = await RequireAsync(context, ns, permissions);
        await FindAsync(ns, id, policies, context.RequestAborted);
        var input = await InputAsync(context, ns);
        var policy = await policies.UpdateAsync(ns, id, input, context.RequestAborted) ?? throw NotFound(ns, id);
        await audit.WriteAsync(RetentionAuditActions.PolicyUpdate, caller.Name, RetentionPolicyService.Target(ns, id), detail: Describe(policy));
        return Results.Ok(View(policy));
    }

    private static async Task<IResult> DeleteAsync(string ns, long id, HttpContext context, PermissionService permissions, RetentionPolicyService policies, AuditLog audit)
    {
        var caller = await RequireAsync(context, ns, permissions);
        if (!await policies.DeleteAsync(ns, id, context.RequestAborted))
        {
            throw NotFound(ns, id);
        }

        await audit.WriteAsync(RetentionAuditActions.PolicyDelete, caller.Name, RetentionPolicyService.Target(ns, id));
        return Results.NoContent();
    }

    private static async Task<IResult> RunAsync(
        string ns, long id, HttpContext context, PermissionService permissions, RetentionPolicyService policies, RetentionRunner runner, IOptions<RegistryStorageOptions> storage)
    {
        var caller = await RequireAsync(context, ns, permissions);
        var policy = await FindAsync(ns, id, policies, context.RequestAborted);
        var body = await ApiEndpoints.BodyAsync<RunRequest>(context);
        if (body.DryRun is not { } dryRun)
        {
            throw IdentityException.Invalid("dryRun must be true or false");
        }

        if (!dryRun && !storage.Value.DeleteEnabled)
        {
            throw IdentityException.Denied("deletes are disabled on this registry; only dry runs are possible");
        }

        var author = new ChangeAuthor(caller.Name, AuditLog.ClientAddress(context));
        return Results.Ok(await runner.RunAsync(policy, dryRun, author, context.RequestAborted));
    }

    private static async Task<IResult> RunsAsync(string ns, long id, HttpContext context, PermissionService permissions, RetentionPolicyService policies, int? limit)
    {
        await RequireAsync(context, ns, permissions);
        await FindAsync(ns, id, policies, context.RequestAborted);
        return Results.Ok(await policies.RunsAsync(id, limit ?? 20, context.RequestAborted));
    }

    private static async Task<Caller> RequireAsync(HttpContext context, string ns, PermissionService permissions)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        await RetentionAccess.RequireAsync(caller, ns, permissions, context.RequestAborted);
        return caller;
    }

    private static async Task<RetentionPolicyInput> InputAsync(HttpContext context, string ns)
    {
        var input = RetentionRules.Normalize(await ApiEndpoints.BodyAsync<RetentionPolicyInput>(context));
        return RetentionRules.Validate(ns, input) is { } error ? throw IdentityException.Invalid(error) : input;
    }

    private static async Task<RetentionPolicyEntity> FindAsync(string ns, long id, RetentionPolicyService policies, CancellationToken ct) =>
        await policies.FindAsync(ns, id, ct) ?? throw NotFound(ns, id);

    private static IdentityException NotFound(string ns, long id) => IdentityException.NotFound($"namespace '{ns}' has no retention policy {id}");

    /// <summary>The rules, for the audit log.</summary>
    public static string Describe(RetentionPolicyEntity p) =>
        string.Join(", ", new[]
        {
            $"repository={p.Repository ?? "*"}", $"tagPattern={p.TagPattern}",
            p.KeepMostRecent is { } n ? $"keepMostRecent={n}" : null,
            p.KeepYoungerThan is { } y ? $"keepYoungerThan={y}" : null,
            p.KeepPulledWithin is { } w ? $"keepPulledWithin={w}" : null,
            p.UntaggedOlderThan is { } u ? $"untaggedOlderThan={u}" : null,
            $"schedule={p.Schedule ?? "manual"}", p.Enabled ? "enabled" : "disabled",
        }.OfType<string>());
}
