using Registry.Storage.Metadata;

namespace Registry.Api.Identity;

/// <summary>Names of audited actions.</summary>
public static class AuditActions
{
    public const string LoginSuccess = "login.success";
    public const string LoginFailure = "login.failure";
    public const string ManifestPush = "manifest.push";
    public const string ManifestDelete = "manifest.delete";
    public const string BlobDelete = "blob.delete";
    public const string RepositoryCreate = "repository.create";
    public const string RepositoryUpdate = "repository.update";
    public const string RepositoryDelete = "repository.delete";
    public const string TokenCreate = "token.create";
    public const string TokenUpdate = "token.update";
    public const string TokenDelete = "token.delete";
    public const string UserCreate = "user.create";
    public const string UserUpdate = "user.update";
    public const string UserDelete = "user.delete";
    public const string PasswordChange = "user.password";
    public const string OrganizationCreate = "organization.create";
    public const string OrganizationDelete = "organization.delete";
    public const string MemberSet = "member.set";
    public const string MemberRemove = "member.remove";
    public const string SigningKeyRotate = "signing-key.rotate";
}

/// <summary>
/// Writes who did what, from where and when. Entries never hold secrets: only names, targets and outcomes.
/// Uses a context of its own so an entry is written whatever state the caller's unit of work is in.
/// </summary>
public sealed class AuditLog(IServiceScopeFactory scopes, IHttpContextAccessor http, TimeProvider time, ILogger<AuditLog> logger)
{
    public async Task WriteAsync(string action, string? actor, string? target, bool success = true, string? detail = null)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
            db.AuditEvents.Add(new AuditEventEntity
            {
                Time = time.GetUtcNow().UtcDateTime,
                Actor = Truncate(actor, RegistryDbContext.MaxAccountNameLength),
                ClientAddress = ClientAddress(http.HttpContext),
                Action = action,
                Target = Truncate(target, 512),
                Success = success,
                Detail = Truncate(detail, 2048),
            });
            await db.SaveChangesAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // An audit entry that cannot be written must not fail the user's request; it is logged instead.
            AuditLogMessages.WriteFailed(logger, e, action, target);
        }
    }

    public static string? ClientAddress(HttpContext? context) => context?.Connection.RemoteIpAddress?.ToString();

    private static string? Truncate(string? value, int length) => value is null || value.Length <= length ? value : value[..length];
}

internal static partial class AuditLogMessages
{
    [LoggerMessage(Level = LogLevel.Error, Message = "Could not write the audit entry {Action} for {Target}")]
    public static partial void WriteFailed(ILogger logger, Exception exception, string action, string? target);
}
