using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Storage.Metadata;

namespace Registry.Api.Identity;

/// <summary>The outcome of checking credentials: a caller, or why not.</summary>
public sealed record LoginResult(Caller? Caller, string? Error, TimeSpan? RetryAfter = null)
{
    public static LoginResult Success(Caller caller) => new(caller, null);

    public static LoginResult Failure(string error) => new(null, error);

    public static LoginResult Throttled(TimeSpan retryAfter) =>
        new(null, "too many wrong passwords; password logins are refused for a while, access tokens still work", retryAfter);

    public bool Succeeded => Caller is not null;
}

/// <summary>
/// Checks passwords, personal access tokens and refresh tokens. Failures count toward the login throttle and go
/// to the audit log; the presented secrets go nowhere.
/// </summary>
public sealed class CredentialService(
    RegistryDbContext db,
    IPasswordHasher<AccountEntity> hasher,
    LoginThrottle throttle,
    AuditLog audit,
    IOptions<AuthOptions> options,
    TimeProvider time)
{
    public const string InvalidCredentials = "invalid username or password";
    public const string TokenInactive = "the access token is inactive";
    public const string TokenExpired = "the access token has expired";
    public const string AccountDisabled = "the account is disabled";
    public const string NodeSecretRefused = "a node credential or join token is not a login: it is accepted only by the node API (/api/v1/node/…, /api/v1/nodes/join)";

    // Verifying against this when the user does not exist costs the same as a real check, so timing does not tell
    // which names exist.
    private static readonly string DummyHash = new PasswordHasher<AccountEntity>().HashPassword(new AccountEntity { Name = "-" }, "-");

    /// <summary>A login with a user name and a password or personal access token (Basic auth, the password grant).</summary>
    /// <param name="auditSuccess">False where every request carries credentials (the REST API): failures are still audited.</param>
    public async Task<LoginResult> LoginAsync(string username, string secret, string? clientAddress, CancellationToken ct, bool auditSuccess = true)
    {
        if (Secrets.IsNodeSecret(secret))
        {
            // Not counted as a wrong password: it is a known kind of secret in the wrong place, and says so.
            await audit.WriteAsync(AuditActions.LoginFailure, username, username, success: false, detail: "node credential");
            return LoginResult.Failure(NodeSecretRefused);
        }

        // Access tokens are not throttled: nobody guesses a random secret of 44 characters, and a valid one must keep
        // working while someone guesses its user's password. The request rate limiter still bounds wrong ones.
        var result = secret.StartsWith(Secrets.AccessTokenPrefix, StringComparison.Ordinal)
            ? await CheckAccessTokenAsync(secret, username, ct)
            : await CheckThrottledPasswordAsync(username, secret, clientAddress, ct);

        if (!result.Succeeded)
        {
            await audit.WriteAsync(AuditActions.LoginFailure, username, username, success: false, detail: result.RetryAfter is null ? result.Error : "throttled");
        }
        else if (auditSuccess)
        {
            await db.Accounts.Where(a => a.Id == result.Caller!.UserId).ExecuteUpdateAsync(s => s.SetProperty(a => a.LastLoginAt, Now), ct);
            await audit.WriteAsync(AuditActions.LoginSuccess, result.Caller!.Name, result.Caller.Name,
                detail: result.Caller.Token is { } token ? $"access token {token.TokenId}" : "password");
        }

        return result;
    }

    /// <summary>
    /// Checks the current password of a user who changes it, throttled like a login, so that a stolen session or
    /// access token cannot be used to guess it. Failures are audited.
    /// </summary>
    public async Task<LoginResult> CheckCurrentPasswordAsync(string username, string password, string? clientAddress, CancellationToken ct)
    {
        var result = await CheckThrottledPasswordAsync(username, password, clientAddress, ct);
        if (!result.Succeeded)
        {
            await audit.WriteAsync(AuditActions.LoginFailure, username, username, success: false,
                detail: result.RetryAfter is null ? "wrong current password" : "throttled (current password)");
        }

        return result;
    }

    /// <summary>A personal access token presented alone, as <c>Authorization: Bearer regpat_…</c> on the REST API.</summary>
    public Task<LoginResult> AuthenticateAccessTokenAsync(string secret, CancellationToken ct) =>
        Secrets.IsNodeSecret(secret) ? Task.FromResult(LoginResult.Failure(NodeSecretRefused)) : CheckAccessTokenAsync(secret, username: null, ct);

    /// <summary>Issues a refresh token bound to the credential the caller signed in with.</summary>
    public async Task<string> IssueRefreshTokenAsync(Caller caller, string? clientId, CancellationToken ct)
    {
        var (secret, lookup, hash) = Secrets.Create(Secrets.RefreshTokenPrefix);
        var now = Now;
        db.RefreshTokens.Add(new RefreshTokenEntity
        {
            UserId = caller.UserId,
            AccessTokenId = caller.Token?.TokenId,
            LookupId = lookup,
            SecretHash = hash,
            ClientId = clientId is { Length: > 100 } ? clientId[..100] : clientId,
            CreatedAt = now,
            ExpiresAt = now + options.Value.RefreshTokenLifetime,
        });
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        return secret;
    }

    /// <summary>Redeems a refresh token; the user and the access token behind it must still be valid.</summary>
    public async Task<LoginResult> RedeemRefreshTokenAsync(string secret, CancellationToken ct)
    {
        if (!Secrets.TryGetLookupId(secret, Secrets.RefreshTokenPrefix, out var lookup))
        {
            return LoginResult.Failure("invalid refresh token");
        }

        var row = await db.RefreshTokens.AsNoTracking().FirstOrDefaultAsync(r => r.LookupId == lookup, ct);
        if (row is null || !Secrets.Matches(secret, row.SecretHash) || row.ExpiresAt <= Now)
        {
            return LoginResult.Failure("invalid refresh token");
        }

        var user = await db.Accounts.AsNoTracking().FirstOrDefaultAsync(a => a.Id == row.UserId, ct);
        if (user is null || user.IsDisabled)
        {
            return LoginResult.Failure(user is null ? "invalid refresh token" : AccountDisabled);
        }

        TokenLimit? limit = null;
        if (row.AccessTokenId is { } tokenId)
        {
            var token = await db.AccessTokens.AsNoTracking().FirstOrDefaultAsync(t => t.Id == tokenId, ct);
            if (CheckUsable(token) is { } error)
            {
                return LoginResult.Failure(error);
            }

            limit = TokenLimit.Of(token!);
            await TouchAsync(tokenId, ct);
        }

        await db.RefreshTokens.Where(r => r.Id == row.Id).ExecuteUpdateAsync(s => s.SetProperty(r => r.LastUsedAt, Now), ct);
        return LoginResult.Success(new Caller(user.Id, user.Name, user.IsAdmin, limit, limit is null ? PasswordStamp(user) : null));
    }

    /// <summary>The caller a registry token names, as the metadata store knows it now; null when gone or disabled.</summary>
    public async Task<Caller?> FindCallerAsync(string name, long? tokenId, CancellationToken ct)
    {
        var user = await db.Accounts.AsNoTracking()
            .FirstOrDefaultAsync(a => a.Name == name && a.Kind == AccountKind.User && !a.IsDisabled, ct);
        if (user is null)
        {
            return null;
        }

        if (tokenId is null)
        {
            return new Caller(user.Id, user.Name, user.IsAdmin);
        }

        var token = await db.AccessTokens.AsNoTracking().FirstOrDefaultAsync(t => t.Id == tokenId && t.UserId == user.Id, ct);
        return CheckUsable(token) is null ? new Caller(user.Id, user.Name, user.IsAdmin, TokenLimit.Of(token!)) : null;
    }

    /// <summary>
    /// The caller a registry token was issued to, if the credential behind it still stands: the same account (neither
    /// deleted nor replaced by a new account of the same name), not disabled, and the access token it was obtained
    /// with still active and unexpired, or the password it was obtained with unchanged. Null otherwise.
    /// </summary>
    public async Task<Caller?> FindTokenCallerAsync(TokenSubject subject, CancellationToken ct)
    {
        if (subject.IsNode)
        {
            return null;
        }

        var user = await db.Accounts.AsNoTracking()
            .FirstOrDefaultAsync(a => a.Name == subject.Name && a.Kind == AccountKind.User && !a.IsDisabled, ct);
        if (user is null || subject.UserId is { } id && id != user.Id)
        {
            return null;
        }

        if (subject.TokenId is { } tokenId)
        {
            var token = await db.AccessTokens.AsNoTracking().FirstOrDefaultAsync(t => t.Id == tokenId && t.UserId == user.Id, ct);
            return CheckUsable(token) is null ? new Caller(user.Id, user.Name, user.IsAdmin, TokenLimit.Of(token!)) : null;
        }

        var stamp = PasswordStamp(user);
        return subject.PasswordStamp is null || subject.PasswordStamp == stamp ? new Caller(user.Id, user.Name, user.IsAdmin, PasswordStamp: stamp) : null;
    }

    /// <summary>A short fingerprint of the account's password hash; it changes with the password.</summary>
    public static string PasswordStamp(AccountEntity user) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(user.PasswordHash ?? string.Empty)))[..16];

    /// <summary>A password check behind the login throttle: refused while locked out, and counted when wrong.</summary>
    private async Task<LoginResult> CheckThrottledPasswordAsync(string username, string password, string? clientAddress, CancellationToken ct)
    {
        if (await throttle.GetWaitAsync(username, clientAddress, ct) is { } wait)
        {
            return LoginResult.Throttled(wait);
        }

        var result = await CheckPasswordAsync(username, password, ct);
        if (result.Succeeded)
        {
            await throttle.RecordSuccessAsync(username, clientAddress, ct);
        }
        else if (result.Error == InvalidCredentials)
        {
            await throttle.RecordFailureAsync(username, clientAddress, ct);
        }

        return result;
    }

    private async Task<LoginResult> CheckPasswordAsync(string username, string password, CancellationToken ct)
    {
        var user = await db.Accounts.FirstOrDefaultAsync(a => a.Name == username && a.Kind == AccountKind.User, ct);
        if (user?.PasswordHash is null)
        {
            hasher.VerifyHashedPassword(new AccountEntity { Name = username }, DummyHash, password);
            return LoginResult.Failure(InvalidCredentials);
        }

        var verdict = hasher.VerifyHashedPassword(user, user.PasswordHash, password);
        if (verdict == PasswordVerificationResult.Failed)
        {
            return LoginResult.Failure(InvalidCredentials);
        }

        if (user.IsDisabled)
        {
            return LoginResult.Failure(AccountDisabled);
        }

        if (verdict == PasswordVerificationResult.SuccessRehashNeeded)
        {
            user.PasswordHash = hasher.HashPassword(user, password);
            await db.SaveChangesAsync(ct);
        }

        db.ChangeTracker.Clear();
        return LoginResult.Success(new Caller(user.Id, user.Name, user.IsAdmin, PasswordStamp: PasswordStamp(user)));
    }

    private async Task<LoginResult> CheckAccessTokenAsync(string secret, string? username, CancellationToken ct)
    {
        if (!Secrets.TryGetLookupId(secret, Secrets.AccessTokenPrefix, out var lookup))
        {
            return LoginResult.Failure(InvalidCredentials);
        }

        var found = await (from t in db.AccessTokens.AsNoTracking()
                           join a in db.Accounts.AsNoTracking() on t.UserId equals a.Id
                           where t.LookupId == lookup
                           select new { Token = t, User = a }).FirstOrDefaultAsync(ct);

        // The user name must match the token's owner: a token is not a key to somebody else's account.
        if (found is null || !Secrets.Matches(secret, found.Token.SecretHash)
            || username is not null && !string.Equals(username, found.User.Name, StringComparison.Ordinal))
        {
            return LoginResult.Failure(InvalidCredentials);
        }

        if (found.User.IsDisabled)
        {
            return LoginResult.Failure(AccountDisabled);
        }

        if (CheckUsable(found.Token) is { } error)
        {
            return LoginResult.Failure(error);
        }

        await TouchAsync(found.Token.Id, ct);
        return LoginResult.Success(new Caller(found.User.Id, found.User.Name, found.User.IsAdmin, TokenLimit.Of(found.Token)));
    }

    private string? CheckUsable(AccessTokenEntity? token) =>
        token is null ? InvalidCredentials
        : !token.IsActive ? TokenInactive
        : token.ExpiresAt <= Now ? TokenExpired
        : null;

    private Task<int> TouchAsync(long tokenId, CancellationToken ct) =>
        db.AccessTokens.Where(t => t.Id == tokenId).ExecuteUpdateAsync(s => s.SetProperty(t => t.LastUsedAt, Now), ct);

    private DateTime Now => time.GetUtcNow().UtcDateTime;
}
