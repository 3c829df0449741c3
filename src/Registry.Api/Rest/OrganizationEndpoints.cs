using Registry.Api.Identity;
using Registry.Storage.Metadata;

namespace Registry.Api.Rest;

internal static class OrganizationEndpoints
{
    public sealed record OrganizationView(string Name, string? Description, DateTime CreatedAt, string? Role);

    public sealed record MemberView(string Username, string Role, DateTime Since);

    public sealed record CreateOrganization(string? Name, string? Description, bool AdoptRepositories = false);

    public sealed record SetMember(string? Role);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/orgs", ListAsync);
        api.MapPost("/orgs", CreateAsync);
        api.MapGet("/orgs/{org}", GetAsync);
        api.MapDelete("/orgs/{org}", DeleteAsync);
        api.MapGet("/orgs/{org}/members", MembersAsync);
        api.MapPut("/orgs/{org}/members/{user}", SetMemberAsync);
        api.MapDelete("/orgs/{org}/members/{user}", RemoveMemberAsync);
    }

    public static string RoleName(OrganizationRole role) => role.ToString().ToLowerInvariant();

    private static async Task<IResult> ListAsync(HttpContext context, AccountService accounts)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        var memberships = await accounts.MembershipsAsync(caller.UserId, context.RequestAborted);
        if (!caller.IsAdmin)
        {
            return Results.Ok(memberships.Select(m => View(m.Organization, m.Role)));
        }

        var roles = memberships.ToDictionary(m => m.Organization.Id, m => m.Role);
        var all = await accounts.ListAsync(AccountKind.Organization, context.RequestAborted);
        return Results.Ok(all.Select(o => View(o, roles.TryGetValue(o.Id, out var role) ? role : null)));
    }

    private static async Task<IResult> CreateAsync(HttpContext context, AccountService accounts, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        ApiEndpoints.RequireFullAccess(caller);
        var body = await ApiEndpoints.BodyAsync<CreateOrganization>(context);
        if (body.AdoptRepositories)
        {
            // Repositories in a namespace without an account are the administrators'; only they may hand them over.
            ApiEndpoints.RequireAdmin(caller);
        }

        var organization = await accounts.CreateOrganizationAsync(body.Name ?? string.Empty, body.Description, caller.UserId, body.AdoptRepositories, context.RequestAborted);
        await audit.WriteAsync(AuditActions.OrganizationCreate, caller.Name, organization.Name,
            detail: UserEndpoints.CreationDetail(isAdmin: false, body.AdoptRepositories));
        return Results.Created($"{ApiEndpoints.Prefix}/orgs/{organization.Name}", View(organization, OrganizationRole.Owner));
    }

    private static async Task<IResult> GetAsync(string org, HttpContext context, AccountService accounts, PermissionService permissions)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        var role = await RequireMemberAsync(caller, org, permissions, context.RequestAborted);
        return Results.Ok(View(await accounts.GetAsync(org, AccountKind.Organization, context.RequestAborted), role));
    }

    private static async Task<IResult> DeleteAsync(string org, HttpContext context, AccountService accounts, PermissionService permissions, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        await RequireOwnerAsync(caller, org, permissions, context.RequestAborted);
        await accounts.DeleteOrganizationAsync(org, context.RequestAborted);
        await audit.WriteAsync(AuditActions.OrganizationDelete, caller.Name, org);
        return Results.NoContent();
    }

    private static async Task<IResult> MembersAsync(string org, HttpContext context, AccountService accounts, PermissionService permissions)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        await RequireMemberAsync(caller, org, permissions, context.RequestAborted);
        var members = await accounts.MembersAsync(org, context.RequestAborted);
        return Results.Ok(members.Select(m => new MemberView(m.User, RoleName(m.Role), m.Since)));
    }

    private static async Task<IResult> SetMemberAsync(string org, string user, HttpContext context, AccountService accounts, PermissionService permissions, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        await RequireOwnerAsync(caller, org, permissions, context.RequestAborted);
        var body = await ApiEndpoints.BodyAsync<SetMember>(context);
        if (!Enum.TryParse<OrganizationRole>(body.Role, ignoreCase: true, out var role) || !Enum.IsDefined(role) || int.TryParse(body.Role, out _))
        {
            throw IdentityException.Invalid("role must be owner, maintainer or member");
        }

        await accounts.SetMemberAsync(org, user, role, context.RequestAborted);
        await audit.WriteAsync(AuditActions.MemberSet, caller.Name, $"{org}/{user}", detail: RoleName(role));
        return Results.Ok(new MemberView(user, RoleName(role), DateTime.UtcNow));
    }

    private static async Task<IResult> RemoveMemberAsync(string org, string user, HttpContext context, AccountService accounts, PermissionService permissions, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        if (caller.Name != user)
        {
            // Members may leave; only owners remove others.
            await RequireOwnerAsync(caller, org, permissions, context.RequestAborted);
        }
        else
        {
            ApiEndpoints.RequireFullAccess(caller);
        }

        await accounts.RemoveMemberAsync(org, user, context.RequestAborted);
        await audit.WriteAsync(AuditActions.MemberRemove, caller.Name, $"{org}/{user}");
        return Results.NoContent();
    }

    private static OrganizationView View(AccountEntity organization, OrganizationRole? role) =>
        new(organization.Name, organization.Description, organization.CreatedAt, role is { } r ? RoleName(r) : null);

    /// <summary>Members and administrators see an organization; to anyone else it does not exist.</summary>
    private static async Task<OrganizationRole?> RequireMemberAsync(Caller caller, string org, PermissionService permissions, CancellationToken ct)
    {
        var role = await permissions.GetRoleAsync(org, caller.UserId, ct);
        if (role is null && !caller.IsAdmin)
        {
            throw IdentityException.NotFound($"organization '{org}' does not exist");
        }

        return role;
    }

    private static async Task RequireOwnerAsync(Caller caller, string org, PermissionService permissions, CancellationToken ct)
    {
        ApiEndpoints.RequireFullAccess(caller);
        var role = await RequireMemberAsync(caller, org, permissions, ct);
        if (role != OrganizationRole.Owner && !caller.IsAdmin)
        {
            throw IdentityException.Denied($"only owners of '{org}' may do this");
        }
    }
}
