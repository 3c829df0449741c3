namespace Registry.Storage.Metadata;

// Accounts, tokens, keys and the audit trail. Users and organizations are both accounts so that one unique
// index keeps their names, which are namespaces, apart.

public enum AccountKind
{
    User = 0,
    Organization = 1,
}

public enum OrganizationRole
{
    /// <summary>Pull.</summary>
    Member = 0,

    /// <summary>Pull, push and delete.</summary>
    Maintainer = 1,

    /// <summary>Everything, and the organization's settings and members.</summary>
    Owner = 2,
}

/// <summary>What a personal access token may do, at most; the owner's own rights still apply.</summary>
public enum TokenScope
{
    Read = 0,
    ReadWrite = 1,
    ReadWriteDelete = 2,
}

public sealed class AccountEntity
{
    public long Id { get; set; }

    /// <summary>The account's namespace: the first component of its repositories' names.</summary>
    public required string Name { get; set; }

    public AccountKind Kind { get; set; }

    /// <summary>A user's password hash; null for organizations and for users who may only use tokens.</summary>
    public string? PasswordHash { get; set; }

    public bool IsAdmin { get; set; }

    /// <summary>A disabled user can neither log in nor use its tokens.</summary>
    public bool IsDisabled { get; set; }

    public string? Description { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? LastLoginAt { get; set; }
}

public sealed class OrganizationMemberEntity
{
    public long OrganizationId { get; set; }

    public long UserId { get; set; }

    public OrganizationRole Role { get; set; }

    public DateTime CreatedAt { get; set; }
}

/// <summary>A personal access token. Only a hash of its secret is stored.</summary>
public sealed class AccessTokenEntity
{
    public long Id { get; set; }

    public long UserId { get; set; }

    public required string Name { get; set; }

    /// <summary>The non-secret first part of the token, to find the row without scanning hashes.</summary>
    public required string LookupId { get; set; }

    public required byte[] SecretHash { get; set; }

    public TokenScope Scope { get; set; }

    /// <summary>When set, the token only reaches repositories of this namespace.</summary>
    public string? Namespace { get; set; }

    /// <summary>When set, the token only reaches this one repository.</summary>
    public string? Repository { get; set; }

    public bool IsActive { get; set; } = true;

    public DateTime CreatedAt { get; set; }

    public DateTime? ExpiresAt { get; set; }

    public DateTime? LastUsedAt { get; set; }
}

/// <summary>An OAuth2 refresh token (docker's "identity token"), tied to the credential that obtained it.</summary>
public sealed class RefreshTokenEntity
{
    public long Id { get; set; }

    public long UserId { get; set; }

    /// <summary>The personal access token the login used, whose limits the refresh token keeps; null for a password.</summary>
    public long? AccessTokenId { get; set; }

    public required string LookupId { get; set; }

    public required byte[] SecretHash { get; set; }

    public string? ClientId { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime ExpiresAt { get; set; }

    public DateTime? LastUsedAt { get; set; }
}

/// <summary>A key that signs registry tokens. The newest unretired key signs; retired keys still verify for a while.</summary>
public sealed class SigningKeyEntity
{
    public required string Id { get; set; }

    public required string Algorithm { get; set; }

    /// <summary>
    /// The private key, PKCS#8 DER, encrypted by the server with a key that is not in the database (keys written by
    /// earlier versions in plain text are encrypted at start-up).
    /// </summary>
    public required byte[] PrivateKey { get; set; }

    public DateTime CreatedAt { get; set; }

    public DateTime? RetiredAt { get; set; }
}

/// <summary>Names of audited actions.</summary>
public static class AuditActions
{
    public const string LoginSuccess = "login.success";
    public const string LoginFailure = "login.failure";
    public const string ManifestPush = "manifest.push";
    public const string ManifestDelete = "manifest.delete";
    public const string GcRun = "gc.run";
    public const string BlobDelete = "blob.delete";
    public const string RepositoryCreate = "repository.create";
    public const string RepositoryUpdate = "repository.update";
    public const string RepositoryDelete = "repository.delete";
    public const string RepositoryTransfer = "repository.transfer";
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
    public const string WebhookCreate = "webhook.create";
    public const string WebhookUpdate = "webhook.update";
    public const string WebhookDelete = "webhook.delete";
    public const string JoinTokenCreate = "join-token.create";
    public const string JoinTokenDelete = "join-token.delete";
    public const string NodeJoin = "node.join";
    public const string NodeCordon = "node.cordon";
    public const string NodeUncordon = "node.uncordon";
    public const string NodeDrain = "node.drain";
    public const string NodeLabels = "node.labels";
    public const string NodeRemove = "node.remove";
    public const string ContainerCreate = "container.create";
    public const string ContainerStop = "container.stop";
    public const string ContainerStart = "container.start";
    public const string ContainerRestart = "container.restart";
    public const string ContainerDelete = "container.delete";
}

/// <summary>Who made a change, for the audit entry written in the same transaction as the change.</summary>
public sealed record ChangeAuthor(string? User, string? ClientAddress);

public sealed class AuditEventEntity
{
    public long Id { get; set; }

    public DateTime Time { get; set; }

    /// <summary>The user who acted; null for anonymous callers and failed logins of unknown names.</summary>
    public string? Actor { get; set; }

    public string? ClientAddress { get; set; }

    /// <summary>A dotted name: <c>login.success</c>, <c>manifest.push</c>, <c>token.create</c>, …</summary>
    public required string Action { get; set; }

    /// <summary>What it acted on: a repository, a user, a token's name.</summary>
    public string? Target { get; set; }

    public bool Success { get; set; }

    public string? Detail { get; set; }
}

/// <summary>
/// A key of ASP.NET Data Protection (it protects the web UI's cookies and antiforgery tokens), kept in the
/// metadata store so that every replica uses the same keys and cookies survive restarts. The key's secret inside the
/// XML is encrypted by the server with a key that is not in the database.
/// </summary>
public sealed class DataProtectionKeyEntity
{
    public long Id { get; set; }

    public string? FriendlyName { get; set; }

    public required string Xml { get; set; }
}

/// <summary>
/// Failed password checks of one account, from one client address or from all of them, for throttling across
/// replicas. <see cref="Lockouts"/> counts the lockouts in a row, each twice as long as the one before. The row of an
/// account and an address also remembers the last successful password check from there.
/// </summary>
public sealed class LoginThrottleEntity
{
    public required string Key { get; set; }

    public int Failures { get; set; }

    public DateTime WindowStart { get; set; }

    /// <summary>When the current or the last lockout ends.</summary>
    public DateTime? BlockedUntil { get; set; }

    public int Lockouts { get; set; }

    /// <summary>When the account's password was last right from this address.</summary>
    public DateTime? LastSuccessAt { get; set; }
}
