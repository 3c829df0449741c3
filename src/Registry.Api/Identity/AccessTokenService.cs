using Microsoft.EntityFrameworkCore;
using Registry.Core;
using Registry.Storage.Metadata;

namespace Registry.Api.Identity;

/// <summary>A new personal access token: its row, and the secret, which exists only in this answer.</summary>
public sealed record CreatedAccessToken(AccessTokenEntity Token, string Secret);

/// <summary>A user's personal access tokens: create, list, set active or inactive, delete.</summary>
public sealed class AccessTokenService(RegistryDbContext db, TimeProvider time)
{
    public const int MaxTokensPerUser = 200;

    public Task<List<AccessTokenEntity>> ListAsync(long userId, CancellationToken ct) =>
        db.AccessTokens.AsNoTracking().Where(t => t.UserId == userId).OrderBy(t => t.Id).ToListAsync(ct);

    public async Task<CreatedAccessToken> CreateAsync(
        long userId, string name, TokenScope scope, string? ns, string? repository, DateTime? expiresAt, CancellationToken ct)
    {
        name = name.Trim();
        if (name.Length is 0 or > 100)
        {
            throw IdentityException.Invalid("a token's name has 1 to 100 characters");
        }

        if (ns is not null)
        {
            AccountService.ValidateName(ns);
        }

        if (repository is not null)
        {
            if (RepositoryName.Validate(repository) is { } error)
            {
                throw IdentityException.Invalid(error);
            }

            if (ns is not null && RepositoryName.NamespaceOf(repository) != ns)
            {
                throw IdentityException.Invalid($"repository '{repository}' is not in namespace '{ns}'");
            }
        }

        var now = time.GetUtcNow().UtcDateTime;
        if (expiresAt is { } expiry && expiry.ToUniversalTime() <= now)
        {
            throw IdentityException.Invalid("the expiry date is in the past");
        }

        if (await db.AccessTokens.CountAsync(t => t.UserId == userId, ct) >= MaxTokensPerUser)
        {
            throw IdentityException.Conflict($"a user has at most {MaxTokensPerUser} access tokens; delete some first");
        }

        var (secret, lookup, hash) = Secrets.Create(Secrets.AccessTokenPrefix);
        var token = new AccessTokenEntity
        {
            UserId = userId,
            Name = name,
            LookupId = lookup,
            SecretHash = hash,
            Scope = scope,
            Namespace = ns,
            Repository = repository,
            IsActive = true,
            CreatedAt = now,
            ExpiresAt = expiresAt?.ToUniversalTime(),
        };
        db.AccessTokens.Add(token);
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        return new CreatedAccessToken(token, secret);
    }

    public async Task<AccessTokenEntity> SetActiveAsync(long userId, long id, bool active, CancellationToken ct)
    {
        var token = await db.AccessTokens.FirstOrDefaultAsync(t => t.Id == id && t.UserId == userId, ct)
            ?? throw IdentityException.NotFound($"access token {id} does not exist");
        token.IsActive = active;
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        return token;
    }

    public async Task<AccessTokenEntity> DeleteAsync(long userId, long id, CancellationToken ct)
    {
        var token = await db.AccessTokens.AsNoTracking().FirstOrDefaultAsync(t => t.Id == id && t.UserId == userId, ct)
            ?? throw IdentityException.NotFound($"access token {id} does not exist");
        await db.AccessTokens.Where(t => t.Id == id).ExecuteDeleteAsync(ct);
        return token;
    }

    public static string ScopeName(TokenScope scope) => scope switch
    {
        TokenScope.Read => "read",
        TokenScope.ReadWrite => "read-write",
        _ => "read-write-delete",
    };

    public static bool TryParseScope(string? value, out TokenScope scope)
    {
        scope = value switch
        {
            "read" => TokenScope.Read,
            "read-write" => TokenScope.ReadWrite,
            "read-write-delete" => TokenScope.ReadWriteDelete,
            _ => (TokenScope)(-1),
        };
        return Enum.IsDefined(scope);
    }
}
