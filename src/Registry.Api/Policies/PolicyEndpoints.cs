using System.Text.Json;
using Registry.Api.Identity;
using Registry.Api.Rest;
using Registry.Storage.Policies;

namespace Registry.Api.Policies;

/// <summary>
/// <c>/api/v1/namespaces/{ns}/quota</c> and <c>/api/v1/namespaces/{ns}/immutable-tags</c>: a namespace's quota with
/// its usage, and its immutable-tag rules. See <see cref="NamespaceAccess"/> for who may read and change them.
/// </summary>
internal static class PolicyEndpoints
{
    public sealed record QuotaView(string Namespace, long? LimitBytes, long UsedBytes, IReadOnlyList<RepositoryUsageView> Repositories);

    public sealed record RepositoryUsageView(string Name, long UsedBytes);

    public sealed record RuleView(long Id, string Pattern, string? Repository, DateTime CreatedAt, string? CreatedBy);

    public sealed record SetQuota(JsonElement LimitBytes);

    public sealed record CreateRule(string? Pattern, string? Repository);

    public static void Map(RouteGroupBuilder api)
    {
        var group = api.MapGroup("/namespaces/{ns}").AddEndpointFilter(TranslateErrorsAsync);
        group.MapGet("/quota", GetQuotaAsync);
        group.MapPut("/quota", SetQuotaAsync);
        group.MapDelete("/quota", DeleteQuotaAsync);
        group.MapGet("/immutable-tags", ListRulesAsync);
        group.MapPost("/immutable-tags", CreateRuleAsync);
        group.MapDelete("/immutable-tags/{id:long}", DeleteRuleAsync);
    }

    private static async Task<IResult> GetQuotaAsync(string ns, HttpContext context, NamespaceAccess access, PolicyService policies)
    {
        await access.RequireVisibleAsync(ApiAuthenticationHandler.GetCaller(context), ns, context.RequestAborted);
        return Results.Ok(View(await policies.GetQuotaAsync(ns, context.RequestAborted)));
    }

    private static async Task<IResult> SetQuotaAsync(string ns, HttpContext context, NamespaceAccess access, PolicyService policies, AuditLog audit)
    {
        var caller = RequireQuotaAdministrator(context);
        var body = await ApiEndpoints.BodyAsync<SetQuota>(context);
        var limit = ParseLimit(body.LimitBytes);
        await access.RequireVisibleAsync(caller, ns, context.RequestAborted);
        await policies.SetQuotaAsync(ns, limit, caller.Name, context.RequestAborted);
        await audit.WriteAsync(PolicyAuditActions.QuotaSet, caller.Name, ns, detail: $"limitBytes={limit}");
        return Results.Ok(View(await policies.GetQuotaAsync(ns, context.RequestAborted)));
    }

    private static async Task<IResult> DeleteQuotaAsync(string ns, HttpContext context, NamespaceAccess access, PolicyService policies, AuditLog audit)
    {
        var caller = RequireQuotaAdministrator(context);
        await access.RequireVisibleAsync(caller, ns, context.RequestAborted);
        if (!await policies.DeleteQuotaAsync(ns, context.RequestAborted))
        {
            throw IdentityException.NotFound($"namespace '{ns}' has no quota");
        }

        await audit.WriteAsync(PolicyAuditActions.QuotaDelete, caller.Name, ns);
        return Results.NoContent();
    }

    private static async Task<IResult> ListRulesAsync(string ns, HttpContext context, NamespaceAccess access, PolicyService policies)
    {
        await access.RequireVisibleAsync(ApiAuthenticationHandler.GetCaller(context), ns, context.RequestAborted);
        return Results.Ok((await policies.ListRulesAsync(ns, context.RequestAborted)).Select(View));
    }

    private static async Task<IResult> CreateRuleAsync(string ns, HttpContext context, NamespaceAccess access, PolicyService policies, AuditLog audit)
    {
        var caller = await RequireRuleManagerAsync(context, ns, access);
        var body = await ApiEndpoints.BodyAsync<CreateRule>(context);
        var rule = await policies.AddRuleAsync(ns, body.Pattern, body.Repository, caller.Name, context.RequestAborted);
        await audit.WriteAsync(PolicyAuditActions.ImmutableRuleCreate, caller.Name, rule.Repository ?? ns, detail: $"pattern={rule.Pattern}");
        return Results.Created($"{ApiEndpoints.Prefix}/namespaces/{ns}/immutable-tags/{rule.Id}", View(rule));
    }

    private static async Task<IResult> DeleteRuleAsync(string ns, long id, HttpContext context, NamespaceAccess access, PolicyService policies, AuditLog audit)
    {
        var caller = await RequireRuleManagerAsync(context, ns, access);
        var rule = await policies.DeleteRuleAsync(ns, id, context.RequestAborted)
            ?? throw IdentityException.NotFound($"namespace '{ns}' has no immutable-tag rule {id}");
        await audit.WriteAsync(PolicyAuditActions.ImmutableRuleDelete, caller.Name, rule.Repository ?? ns, detail: $"pattern={rule.Pattern}");
        return Results.NoContent();
    }

    /// <summary>limitBytes as a whole positive number of bytes; anything else is refused with what was wrong.</summary>
    internal static long ParseLimit(JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Number)
        {
            throw IdentityException.Invalid("limitBytes must be a number of bytes, e.g. {\"limitBytes\": 10000000000}");
        }

        if (!value.TryGetDecimal(out var number))
        {
            throw IdentityException.Invalid($"limitBytes must be at most {PolicyService.MaxLimitBytes} ({ByteSize.Format(PolicyService.MaxLimitBytes)})");
        }

        if (number != decimal.Truncate(number))
        {
            throw IdentityException.Invalid("limitBytes must be a whole number of bytes");
        }

        var limit = number > PolicyService.MaxLimitBytes ? long.MaxValue : number < 0 ? -1 : (long)number;
        try
        {
            PolicyService.ValidateLimit(limit);
        }
        catch (PolicyException e)
        {
            throw IdentityException.Invalid(e.Message);
        }

        return limit;
    }

    private static Caller RequireQuotaAdministrator(HttpContext context)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        if (!NamespaceAccess.MaySetQuota(caller))
        {
            throw IdentityException.Denied("only registry administrators may set quotas");
        }

        return caller;
    }

    private static async Task<Caller> RequireRuleManagerAsync(HttpContext context, string ns, NamespaceAccess access)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        await access.RequireVisibleAsync(caller, ns, context.RequestAborted);
        if (!await access.MayManageRulesAsync(caller, ns, context.RequestAborted))
        {
            throw IdentityException.Denied($"only the owners of '{ns}' may change its immutable-tag rules");
        }

        return caller;
    }

    /// <summary>The policy services' refusals in the API's error format.</summary>
    private static async ValueTask<object?> TranslateErrorsAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        try
        {
            return await next(invocation);
        }
        catch (PolicyException e)
        {
            throw e.Error switch
            {
                PolicyError.NotFound => IdentityException.NotFound(e.Message),
                PolicyError.Conflict => IdentityException.Conflict(e.Message),
                _ => IdentityException.Invalid(e.Message),
            };
        }
    }

    private static QuotaView View(QuotaReport report) =>
        new(report.Namespace, report.LimitBytes, report.UsedBytes, [.. report.Repositories.Select(r => new RepositoryUsageView(r.Name, r.UsedBytes))]);

    private static RuleView View(ImmutableTagRuleEntity rule) => new(rule.Id, rule.Pattern, rule.Repository, rule.CreatedAt, rule.CreatedBy);
}
