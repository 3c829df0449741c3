using Microsoft.EntityFrameworkCore;
using Registry.Api.Identity;
using Registry.Storage.Metadata;
using Registry.Storage.Nodes;

namespace Registry.Api.Nodes;

/// <summary>A join token just made, with its secret: the only time the secret exists outside the caller's hands.</summary>
public sealed record CreatedJoinToken(NodeJoinTokenEntity Token, string Secret);

/// <summary>The join tokens administrators make so that machines can join as nodes. Each is stored as a SHA-256 hash.</summary>
public sealed class JoinTokenService(RegistryDbContext db, TimeProvider time)
{
    public static readonly TimeSpan DefaultLifetime = TimeSpan.FromHours(1);
    public const int MaxUses = 10_000;

    public async Task<CreatedJoinToken> CreateAsync(int? uses, string? expiresIn, string createdBy, CancellationToken ct)
    {
        var count = uses ?? 1;
        if (count is < 1 or > MaxUses)
        {
            throw IdentityException.Invalid($"uses must be between 1 and {MaxUses}");
        }

        var lifetime = DefaultLifetime;
        if (expiresIn is not null)
        {
            lifetime = NodeRules.ParseDuration(expiresIn)
                ?? throw IdentityException.Invalid($"expiresIn '{expiresIn}' is not a duration such as 90s, 30m, 12h, 7d or 1h30m");
            if (lifetime > NodeRules.MaxJoinTokenLifetime)
            {
                throw IdentityException.Invalid("expiresIn may be at most 30 days");
            }
        }

        var (secret, lookup, hash) = Secrets.Create(Secrets.JoinTokenPrefix);
        var now = Now;
        var token = new NodeJoinTokenEntity
        {
            LookupId = lookup,
            SecretHash = hash,
            Uses = count,
            Used = 0,
            ExpiresAt = now + lifetime,
            CreatedAt = now,
            CreatedBy = createdBy,
        };
        db.NodeJoinTokens.Add(token);
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        return new CreatedJoinToken(token, secret);
    }

    public Task<List<NodeJoinTokenEntity>> ListAsync(CancellationToken ct) =>
        db.NodeJoinTokens.AsNoTracking().OrderBy(t => t.Id).ToListAsync(ct);

    public async Task<NodeJoinTokenEntity> DeleteAsync(long id, CancellationToken ct)
    {
        var token = await db.NodeJoinTokens.AsNoTracking().FirstOrDefaultAsync(t => t.Id == id, ct)
            ?? throw IdentityException.NotFound($"there is no join token {id}");
        await db.NodeJoinTokens.Where(t => t.Id == id).ExecuteDeleteAsync(ct);
        return token;
    }

    private DateTime Now => time.GetUtcNow().UtcDateTime;
}
