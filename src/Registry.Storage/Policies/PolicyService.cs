using Microsoft.EntityFrameworkCore;
using Registry.Core;
using Registry.Storage.Metadata;

namespace Registry.Storage.Policies;

/// <summary>A namespace's quota and usage, with each repository's usage.</summary>
public sealed record QuotaReport(string Namespace, long? LimitBytes, long UsedBytes, IReadOnlyList<RepositoryUsage> Repositories);

/// <summary>
/// The settings of a namespace's policies: its quota (<see cref="NamespaceQuotaEntity"/>) and its immutable-tag
/// rules (<see cref="ImmutableTagRuleEntity"/>). Who may change them is the caller's decision; this validates them.
/// </summary>
public sealed class PolicyService(RegistryDbContext db, NamespaceUsage usage, TimeProvider time)
{
    /// <summary>1 PB: a limit above this is a typing error, not a plan.</summary>
    public const long MaxLimitBytes = 1_000_000_000_000_000;

    /// <summary>Rules per namespace; each push of a tag matches against all that apply.</summary>
    public const int MaxRules = 100;

    /// <summary>A namespace exists when an account (user or organization) has its name or a repository is in it.</summary>
    public async Task<bool> NamespaceExistsAsync(string ns, CancellationToken ct) =>
        await db.Accounts.AnyAsync(a => a.Name == ns, ct) || await db.Repositories.AnyAsync(r => r.Namespace == ns, ct);

    public async Task<QuotaReport> GetQuotaAsync(string ns, CancellationToken ct)
    {
        var limit = await db.NamespaceQuotas.AsNoTracking().Where(q => q.Namespace == ns).Select(q => (long?)q.LimitBytes).FirstOrDefaultAsync(ct);
        var used = await usage.OfNamespaceAsync(ns, ct);
        var repositories = await usage.OfRepositoriesAsync(ns, ct);
        return new QuotaReport(ns, limit, used, repositories);
    }

    /// <exception cref="PolicyException">The limit is not a positive number of bytes up to <see cref="MaxLimitBytes"/>.</exception>
    public static void ValidateLimit(long limitBytes)
    {
        if (limitBytes <= 0)
        {
            throw new PolicyException(PolicyError.Invalid, "limitBytes must be a positive number of bytes");
        }

        if (limitBytes > MaxLimitBytes)
        {
            throw new PolicyException(PolicyError.Invalid, $"limitBytes must be at most {MaxLimitBytes} ({ByteSize.Format(MaxLimitBytes)})");
        }
    }

    /// <summary>Sets or replaces the namespace's quota. Content already above it stays; new content is refused.</summary>
    public async Task SetQuotaAsync(string ns, long limitBytes, string? by, CancellationToken ct)
    {
        ValidateLimit(limitBytes);
        var now = time.GetUtcNow().UtcDateTime;
        await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO namespace_quotas (namespace, limit_bytes, updated_at, updated_by) VALUES ({ns}, {limitBytes}, {now}, {by})
            ON CONFLICT (namespace) DO UPDATE SET limit_bytes = excluded.limit_bytes, updated_at = excluded.updated_at, updated_by = excluded.updated_by
            """, ct);
    }

    /// <returns>False when the namespace had no quota.</returns>
    public async Task<bool> DeleteQuotaAsync(string ns, CancellationToken ct) =>
        await db.NamespaceQuotas.Where(q => q.Namespace == ns).ExecuteDeleteAsync(ct) > 0;

    public async Task<IReadOnlyList<ImmutableTagRuleEntity>> ListRulesAsync(string ns, CancellationToken ct) =>
        await db.ImmutableTagRules.AsNoTracking().Where(r => r.Namespace == ns).OrderBy(r => r.Repository).ThenBy(r => r.Pattern).ThenBy(r => r.Id).ToListAsync(ct);

    /// <exception cref="PolicyException">The pattern or the repository is invalid, or the rule exists already.</exception>
    public async Task<ImmutableTagRuleEntity> AddRuleAsync(string ns, string? pattern, string? repository, string? by, CancellationToken ct)
    {
        if (!TagPattern.TryParse(pattern, out _, out var error))
        {
            throw new PolicyException(PolicyError.Invalid, error);
        }

        repository = string.IsNullOrEmpty(repository) ? null : repository;
        if (repository is not null)
        {
            if (RepositoryName.Validate(repository) is { } nameError)
            {
                throw new PolicyException(PolicyError.Invalid, nameError);
            }

            if (RepositoryName.NamespaceOf(repository) != ns)
            {
                throw new PolicyException(PolicyError.Invalid, $"repository {repository} is not in the namespace {ns}");
            }
        }

        var existing = await db.ImmutableTagRules.Where(r => r.Namespace == ns).Select(r => new { r.Pattern, r.Repository }).ToListAsync(ct);
        if (existing.Any(r => r.Pattern == pattern && r.Repository == repository))
        {
            throw new PolicyException(PolicyError.Conflict, $"the rule \"{pattern}\" exists already for {repository ?? "every repository of " + ns}");
        }

        if (existing.Count >= MaxRules)
        {
            throw new PolicyException(PolicyError.Invalid, $"a namespace has at most {MaxRules} immutable-tag rules");
        }

        var rule = new ImmutableTagRuleEntity
        {
            Namespace = ns,
            Repository = repository,
            Pattern = pattern!,
            CreatedAt = time.GetUtcNow().UtcDateTime,
            CreatedBy = by,
        };
        db.ImmutableTagRules.Add(rule);
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        return rule;
    }

    /// <returns>The deleted rule, or null when the namespace has no rule with that id.</returns>
    public async Task<ImmutableTagRuleEntity?> DeleteRuleAsync(string ns, long id, CancellationToken ct)
    {
        var rule = await db.ImmutableTagRules.AsNoTracking().FirstOrDefaultAsync(r => r.Namespace == ns && r.Id == id, ct);
        if (rule is not null)
        {
            await db.ImmutableTagRules.Where(r => r.Id == id).ExecuteDeleteAsync(ct);
        }

        return rule;
    }
}
