using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;
using Registry.Api.Identity;
using Registry.Core;
using Registry.Storage.Metadata;
using Registry.Storage.Policies;
using Registry.Storage.Services;

namespace Registry.Api.Rest;

internal static class RepositoryEndpoints
{
    /// <param name="UsedBytes">Only on the view of one repository: what it holds, counted as quotas count (docs/policies.md).</param>
    public sealed record RepositoryView(
        string Name, string? Namespace, string Visibility, string? Description, DateTime CreatedAt, int TagCount, DateTime? UpdatedAt,
        [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? UsedBytes = null);

    public sealed record RepositoryPage(IReadOnlyList<RepositoryView> Items, int Total, int Page, int PageSize);

    public sealed record CreateRepository(string? Name, string? Visibility, string? Description);

    public sealed record UpdateRepository(string? Visibility, string? Description);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/repositories", ListAsync);
        api.MapPost("/repositories", CreateAsync);
        api.MapGet("/repositories/{**name}", GetAsync);
        api.MapPatch("/repositories/{**name}", UpdateAsync);
        api.MapDelete("/repositories/{**name}", DeleteAsync);
    }

    private static async Task<IResult> ListAsync(HttpContext context, RepositoryService repositories, PermissionService permissions, string? @namespace, string? q, int? page, int? pageSize)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        var size = Math.Clamp(pageSize ?? 50, 1, RepositoryService.MaxPageSize);
        var number = Math.Max(1, page ?? 1);
        var filter = await permissions.ListingFilterAsync(caller, context.RequestAborted);
        var (items, total) = await repositories.ListAsync(filter, @namespace, q, number, size, context.RequestAborted);

        // A token limited to a namespace or a repository lists only what it reaches.
        var visible = caller.Token is { } limit ? items.Where(r => limit.Apply(r.Name, RegistryAction.Pull) != RegistryAction.None).ToList() : items;
        return Results.Ok(new RepositoryPage(visible.Select(View).ToList(), total, number, size));
    }

    private static async Task<IResult> GetAsync(string name, HttpContext context, RepositoryService repositories, PermissionService permissions, NamespaceUsage usage)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        await RequireAsync(caller, name, RegistryAction.Pull, permissions, context.RequestAborted);
        var repository = await repositories.FindAsync(name, context.RequestAborted) ?? throw NotFound(name);
        return Results.Ok(View(repository) with { UsedBytes = await usage.OfRepositoryAsync(name, context.RequestAborted) });
    }

    private static async Task<IResult> CreateAsync(HttpContext context, RepositoryService repositories, PermissionService permissions, AuditLog audit, IOptions<RegistryStorageOptions> storage)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        var body = await ApiEndpoints.BodyAsync<CreateRepository>(context);
        if (RepositoryName.Validate(body.Name) is { } error)
        {
            throw IdentityException.Invalid(error);
        }

        var name = body.Name!;
        if (!(await permissions.GetRepositoryActionsAsync(caller, name, context.RequestAborted)).HasFlag(RegistryAction.Push))
        {
            throw IdentityException.Denied($"you may not create repositories in '{RepositoryName.NamespaceOf(name) ?? name}'");
        }

        var isPublic = body.Visibility is null ? storage.Value.DefaultVisibility == RepositoryVisibility.Public : ParseVisibility(body.Visibility);
        var description = body.Description is null ? null : AccountService.ValidateDescription(body.Description);
        if (!await repositories.CreateAsync(name, isPublic, description, context.RequestAborted))
        {
            throw IdentityException.Conflict($"repository '{name}' already exists");
        }

        await audit.WriteAsync(AuditActions.RepositoryCreate, caller.Name, name, detail: isPublic ? "public" : "private");
        var created = await repositories.FindAsync(name, context.RequestAborted) ?? throw NotFound(name);
        return Results.Created($"{ApiEndpoints.Prefix}/repositories/{name}", View(created));
    }

    private static async Task<IResult> UpdateAsync(string name, HttpContext context, RepositoryService repositories, PermissionService permissions, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        await RequireAsync(caller, name, RegistryAction.Pull, permissions, context.RequestAborted);
        if (!await permissions.MayAdministerAsync(caller, name, context.RequestAborted))
        {
            throw IdentityException.Denied($"only the owners of '{name}' may change its settings");
        }

        var body = await ApiEndpoints.BodyAsync<UpdateRepository>(context);
        bool? isPublic = body.Visibility is null ? null : ParseVisibility(body.Visibility);
        var description = body.Description is null ? null : AccountService.ValidateDescription(body.Description);
        if (!await repositories.UpdateAsync(name, isPublic, description, context.RequestAborted))
        {
            throw NotFound(name);
        }

        await audit.WriteAsync(AuditActions.RepositoryUpdate, caller.Name, name,
            detail: isPublic is null ? "description" : $"visibility={(isPublic.Value ? "public" : "private")}");
        var updated = await repositories.FindAsync(name, context.RequestAborted) ?? throw NotFound(name);
        return Results.Ok(View(updated));
    }

    private static async Task<IResult> DeleteAsync(string name, HttpContext context, RepositoryService repositories, PermissionService permissions, AuditLog audit, IOptions<RegistryStorageOptions> storage)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        await RequireAsync(caller, name, RegistryAction.Pull, permissions, context.RequestAborted);
        if (!storage.Value.DeleteEnabled)
        {
            throw IdentityException.Denied("deletes are disabled on this registry");
        }

        if (!await permissions.MayAdministerAsync(caller, name, context.RequestAborted)
            || !(await permissions.GetRepositoryActionsAsync(caller, name, context.RequestAborted)).HasFlag(RegistryAction.Delete))
        {
            throw IdentityException.Denied($"only the owners of '{name}' may delete it");
        }

        if (!await repositories.DeleteAsync(name, context.RequestAborted))
        {
            throw NotFound(name);
        }

        await audit.WriteAsync(AuditActions.RepositoryDelete, caller.Name, name);
        return Results.NoContent();
    }

    /// <summary>A repository the caller may not see answers as if it did not exist.</summary>
    private static async Task RequireAsync(Caller caller, string name, RegistryAction actions, PermissionService permissions, CancellationToken ct)
    {
        if (!RepositoryName.IsValid(name) || !(await permissions.GetRepositoryActionsAsync(caller, name, ct)).HasFlag(actions))
        {
            throw NotFound(name);
        }
    }

    private static bool ParseVisibility(string value) => value switch
    {
        "public" => true,
        "private" => false,
        _ => throw IdentityException.Invalid("visibility must be public or private"),
    };

    private static IdentityException NotFound(string name) => IdentityException.NotFound($"repository '{name}' does not exist");

    private static RepositoryView View(RepositorySummary r) =>
        new(r.Name, r.Namespace, r.IsPublic ? "public" : "private", r.Description, r.CreatedAt, r.TagCount, r.UpdatedAt);
}
