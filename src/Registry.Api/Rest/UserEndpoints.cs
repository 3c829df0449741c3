using Registry.Api.Identity;
using Registry.Storage.Metadata;

namespace Registry.Api.Rest;

internal static class UserEndpoints
{
    public sealed record UserView(string Username, bool IsAdmin, bool IsDisabled, string? Description, DateTime CreatedAt, DateTime? LastLoginAt);

    public sealed record CallerView(string Username, bool IsAdmin, string? Description, DateTime CreatedAt, IReadOnlyList<MembershipView> Organizations, TokenView? Token);

    public sealed record MembershipView(string Name, string Role);

    public sealed record TokenView(long Id, string Scope, string? Namespace, string? Repository);

    public sealed record CreateUser(string? Username, string? Password, bool IsAdmin = false, bool AdoptRepositories = false);

    public sealed record DeletedUserView(string Username, IReadOnlyList<string> RepositoriesDeleted, IReadOnlyList<RepositoryMove> RepositoriesTransferred);

    public sealed record UpdateUser(bool? IsAdmin, bool? IsDisabled, string? Description);

    public sealed record SetPassword(string? Password, string? CurrentPassword);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/user", GetCallerAsync);
        api.MapGet("/users", ListAsync);
        api.MapPost("/users", CreateAsync);
        api.MapGet("/users/{name}", GetAsync);
        api.MapPatch("/users/{name}", UpdateAsync);
        api.MapDelete("/users/{name}", DeleteAsync);
        api.MapPut("/users/{name}/password", SetPasswordAsync);
    }

    public static UserView View(AccountEntity user) =>
        new(user.Name, user.IsAdmin, user.IsDisabled, user.Description, user.CreatedAt, user.LastLoginAt);

    private static async Task<IResult> GetCallerAsync(HttpContext context, AccountService accounts)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        var user = await accounts.GetAsync(caller.Name, AccountKind.User, context.RequestAborted);
        var memberships = await accounts.MembershipsAsync(caller.UserId, context.RequestAborted);
        return Results.Ok(new CallerView(
            user.Name,
            user.IsAdmin,
            user.Description,
            user.CreatedAt,
            memberships.Select(m => new MembershipView(m.Organization.Name, OrganizationEndpoints.RoleName(m.Role))).ToList(),
            caller.Token is { } t ? new TokenView(t.TokenId, AccessTokenService.ScopeName(t.Scope), t.Namespace, t.Repository) : null));
    }

    private static async Task<IResult> ListAsync(HttpContext context, AccountService accounts)
    {
        ApiEndpoints.RequireAdmin(ApiAuthenticationHandler.GetCaller(context));
        var users = await accounts.ListAsync(AccountKind.User, context.RequestAborted);
        return Results.Ok(users.Select(View));
    }

    private static async Task<IResult> CreateAsync(HttpContext context, AccountService accounts, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        ApiEndpoints.RequireAdmin(caller);
        var body = await ApiEndpoints.BodyAsync<CreateUser>(context);
        var user = await accounts.CreateUserAsync(body.Username ?? string.Empty, body.Password ?? string.Empty, body.IsAdmin, body.AdoptRepositories, context.RequestAborted);
        await audit.WriteAsync(AuditActions.UserCreate, caller.Name, user.Name, detail: CreationDetail(user.IsAdmin, body.AdoptRepositories));
        return Results.Created($"{ApiEndpoints.Prefix}/users/{user.Name}", View(user));
    }

    private static async Task<IResult> GetAsync(string name, HttpContext context, AccountService accounts)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        if (caller.Name != name)
        {
            ApiEndpoints.RequireAdmin(caller);
        }

        return Results.Ok(View(await accounts.GetAsync(name, AccountKind.User, context.RequestAborted)));
    }

    private static async Task<IResult> UpdateAsync(string name, HttpContext context, AccountService accounts, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        var body = await ApiEndpoints.BodyAsync<UpdateUser>(context);
        ApiEndpoints.RequireFullAccess(caller);
        if (caller.Name != name || body.IsAdmin is not null || body.IsDisabled is not null)
        {
            // Users may edit their own description; roles and state are the administrators'.
            ApiEndpoints.RequireAdmin(caller);
        }

        var user = await accounts.UpdateUserAsync(name, body.IsAdmin, body.IsDisabled, body.Description, context.RequestAborted);
        await audit.WriteAsync(AuditActions.UserUpdate, caller.Name, name,
            detail: $"admin={user.IsAdmin} disabled={user.IsDisabled}");
        return Results.Ok(View(user));
    }

    /// <summary>
    /// <c>DELETE /users/NAME[?repositories=delete|transfer&amp;to=ACCOUNT]</c>: a user who owns repositories is deleted only
    /// with a decision about them; the answer lists what was deleted or moved.
    /// </summary>
    private static async Task<IResult> DeleteAsync(string name, string? repositories, string? to, HttpContext context, UserRemoval removal)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        ApiEndpoints.RequireAdmin(caller);
        if (caller.Name == name)
        {
            throw IdentityException.Conflict("administrators cannot delete themselves");
        }

        var disposition = repositories switch
        {
            null or "" => RepositoryDisposition.Refuse,
            "delete" => RepositoryDisposition.Delete,
            "transfer" => RepositoryDisposition.Transfer,
            _ => throw IdentityException.Invalid("repositories must be delete or transfer"),
        };
        if (disposition != RepositoryDisposition.Transfer && to is not null)
        {
            throw IdentityException.Invalid("to= goes with repositories=transfer");
        }

        var result = await removal.DeleteAsync(name, disposition, to, new ChangeAuthor(caller.Name, AuditLog.ClientAddress(context)), context.RequestAborted);
        return Results.Ok(new DeletedUserView(result.User, result.Deleted, result.Transferred));
    }

    /// <summary>The audit detail of a new account: whether it is an administrator and whether it took over repositories.</summary>
    internal static string? CreationDetail(bool isAdmin, bool adoptedRepositories) =>
        (isAdmin, adoptedRepositories) switch
        {
            (true, true) => "administrator; adopted the namespace's repositories",
            (true, false) => "administrator",
            (false, true) => "adopted the namespace's repositories",
            _ => null,
        };

    private static async Task<IResult> SetPasswordAsync(string name, HttpContext context, AccountService accounts, CredentialService credentials, AuditLog audit)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        ApiEndpoints.RequireFullAccess(caller);
        var body = await ApiEndpoints.BodyAsync<SetPassword>(context);
        if (caller.Name == name && !caller.IsAdmin)
        {
            // Changing one's own password needs the current one, so a stolen token cannot take over the account;
            // wrong ones are throttled like logins, so it cannot guess it either.
            var check = await credentials.CheckCurrentPasswordAsync(name, body.CurrentPassword ?? string.Empty, AuditLog.ClientAddress(context), context.RequestAborted);
            IdentityException.ThrowIfRefused(check, "the current password is wrong");
        }
        else if (caller.Name != name)
        {
            ApiEndpoints.RequireAdmin(caller);
        }

        await accounts.SetPasswordAsync(name, body.Password ?? string.Empty, context.RequestAborted);
        await audit.WriteAsync(AuditActions.PasswordChange, caller.Name, name);
        return Results.NoContent();
    }
}
