using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;

namespace Registry.Api.Identity;

/// <summary>Users, organizations and their members. Checks of who may do what are the caller's (the REST API's).</summary>
public sealed partial class AccountService(RegistryDbContext db, IPasswordHasher<AccountEntity> hasher, TimeProvider time)
{
    public const int MinPasswordLength = 8;

    public Task<AccountEntity?> FindAsync(string name, AccountKind kind, CancellationToken ct) =>
        db.Accounts.AsNoTracking().FirstOrDefaultAsync(a => a.Name == name && a.Kind == kind, ct);

    public async Task<AccountEntity> GetAsync(string name, AccountKind kind, CancellationToken ct) =>
        await FindAsync(name, kind, ct)
        ?? throw IdentityException.NotFound($"{(kind == AccountKind.User ? "user" : "organization")} '{name}' does not exist");

    public Task<List<AccountEntity>> ListAsync(AccountKind kind, CancellationToken ct) =>
        db.Accounts.AsNoTracking().Where(a => a.Kind == kind).OrderBy(a => a.Name).ToListAsync(ct);

    /// <param name="adoptRepositories">
    /// Whether the new user takes over repositories already in the namespace of its name (which belong to the
    /// administrators until then); only administrators may say so. Without it such a name is refused.
    /// </param>
    public async Task<AccountEntity> CreateUserAsync(string name, string password, bool isAdmin, bool adoptRepositories, CancellationToken ct)
    {
        ValidateName(name);
        ValidatePassword(password);
        var user = new AccountEntity { Name = name, Kind = AccountKind.User, IsAdmin = isAdmin, CreatedAt = Now };
        user.PasswordHash = hasher.HashPassword(user, password);
        return await InsertAsync(user, adoptRepositories, ct);
    }

    public async Task SetPasswordAsync(string name, string password, CancellationToken ct)
    {
        ValidatePassword(password);
        var user = await db.Accounts.FirstOrDefaultAsync(a => a.Name == name && a.Kind == AccountKind.User, ct)
            ?? throw IdentityException.NotFound($"user '{name}' does not exist");
        user.PasswordHash = hasher.HashPassword(user, password);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        await db.SaveChangesAsync(ct);

        // Sessions that a password started end with it; personal access tokens stay, they are separate credentials.
        await db.RefreshTokens.Where(r => r.UserId == user.Id && r.AccessTokenId == null).ExecuteDeleteAsync(ct);
        await transaction.CommitAsync(ct);
        db.ChangeTracker.Clear();
    }

    public async Task<AccountEntity> UpdateUserAsync(string name, bool? isAdmin, bool? isDisabled, string? description, CancellationToken ct)
    {
        var user = await db.Accounts.FirstOrDefaultAsync(a => a.Name == name && a.Kind == AccountKind.User, ct)
            ?? throw IdentityException.NotFound($"user '{name}' does not exist");
        user.IsAdmin = isAdmin ?? user.IsAdmin;
        user.IsDisabled = isDisabled ?? user.IsDisabled;
        user.Description = description is null ? user.Description : ValidateDescription(description);
        if ((!user.IsAdmin || user.IsDisabled) && !await db.Accounts.AnyAsync(a => a.Id != user.Id && a.IsAdmin && !a.IsDisabled, ct))
        {
            throw IdentityException.Conflict("the last administrator cannot be demoted or disabled");
        }

        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        return user;
    }

    /// <summary>Refuses to delete the last administrator or the only owner of an organization.</summary>
    public async Task EnsureDeletableAsync(AccountEntity user, CancellationToken ct)
    {
        if (user.IsAdmin && !await db.Accounts.AnyAsync(a => a.Id != user.Id && a.IsAdmin && !a.IsDisabled, ct))
        {
            throw IdentityException.Conflict("the last administrator cannot be deleted");
        }

        if (await SoleOwnerOfAsync(user.Id, ct) is { } organization)
        {
            throw IdentityException.Conflict($"'{user.Name}' is the only owner of organization '{organization}'");
        }
    }

    /// <param name="adoptRepositories">As for <see cref="CreateUserAsync"/>: only administrators may take over a namespace that holds repositories.</param>
    public async Task<AccountEntity> CreateOrganizationAsync(string name, string? description, long ownerId, bool adoptRepositories, CancellationToken ct)
    {
        ValidateName(name);
        var organization = new AccountEntity
        {
            Name = name,
            Kind = AccountKind.Organization,
            Description = description is null ? null : ValidateDescription(description),
            CreatedAt = Now,
        };
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        await InsertAsync(organization, adoptRepositories, ct);
        db.OrganizationMembers.Add(new OrganizationMemberEntity { OrganizationId = organization.Id, UserId = ownerId, Role = OrganizationRole.Owner, CreatedAt = Now });
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        db.ChangeTracker.Clear();
        return organization;
    }

    public async Task DeleteOrganizationAsync(string name, CancellationToken ct)
    {
        var organization = await GetAsync(name, AccountKind.Organization, ct);
        if (await db.Repositories.AnyAsync(r => r.Namespace == name, ct))
        {
            throw IdentityException.Conflict($"organization '{name}' still has repositories; delete them first");
        }

        await db.Accounts.Where(a => a.Id == organization.Id).ExecuteDeleteAsync(ct);
    }

    /// <summary>Organizations the user belongs to, with its role in each.</summary>
    public async Task<List<(AccountEntity Organization, OrganizationRole Role)>> MembershipsAsync(long userId, CancellationToken ct)
    {
        var rows = await (from m in db.OrganizationMembers.AsNoTracking()
                          join o in db.Accounts.AsNoTracking() on m.OrganizationId equals o.Id
                          where m.UserId == userId
                          orderby o.Name
                          select new { o, m.Role }).ToListAsync(ct);
        return rows.Select(x => (x.o, x.Role)).ToList();
    }

    public async Task<List<(string User, OrganizationRole Role, DateTime Since)>> MembersAsync(string organization, CancellationToken ct)
    {
        var org = await GetAsync(organization, AccountKind.Organization, ct);
        var rows = await (from m in db.OrganizationMembers.AsNoTracking()
                          join u in db.Accounts.AsNoTracking() on m.UserId equals u.Id
                          where m.OrganizationId == org.Id
                          orderby u.Name
                          select new { u.Name, m.Role, m.CreatedAt }).ToListAsync(ct);
        return rows.Select(r => (r.Name, r.Role, r.CreatedAt)).ToList();
    }

    public async Task SetMemberAsync(string organization, string user, OrganizationRole role, CancellationToken ct)
    {
        var org = await GetAsync(organization, AccountKind.Organization, ct);
        var member = await GetAsync(user, AccountKind.User, ct);
        var row = await db.OrganizationMembers.FirstOrDefaultAsync(m => m.OrganizationId == org.Id && m.UserId == member.Id, ct);
        if (row is null)
        {
            db.OrganizationMembers.Add(new OrganizationMemberEntity { OrganizationId = org.Id, UserId = member.Id, Role = role, CreatedAt = Now });
        }
        else
        {
            if (row.Role == OrganizationRole.Owner && role != OrganizationRole.Owner)
            {
                await EnsureAnotherOwnerAsync(org.Id, member.Id, ct);
            }

            row.Role = role;
        }

        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
    }

    public async Task RemoveMemberAsync(string organization, string user, CancellationToken ct)
    {
        var org = await GetAsync(organization, AccountKind.Organization, ct);
        var member = await GetAsync(user, AccountKind.User, ct);
        var row = await db.OrganizationMembers.AsNoTracking().FirstOrDefaultAsync(m => m.OrganizationId == org.Id && m.UserId == member.Id, ct)
            ?? throw IdentityException.NotFound($"'{user}' is not a member of '{organization}'");
        if (row.Role == OrganizationRole.Owner)
        {
            await EnsureAnotherOwnerAsync(org.Id, member.Id, ct);
        }

        await db.OrganizationMembers.Where(m => m.OrganizationId == org.Id && m.UserId == member.Id).ExecuteDeleteAsync(ct);
    }

    public static void ValidateName(string? name)
    {
        if (name is null || name.Length is 0 or > RegistryDbContext.MaxAccountNameLength || !NamePattern().IsMatch(name))
        {
            throw IdentityException.Invalid(
                $"a name has 1 to {RegistryDbContext.MaxAccountNameLength} characters: lowercase letters and digits, separated by single '.', '_' or '-'");
        }
    }

    public static string ValidateDescription(string description) =>
        description.Length <= RegistryDbContext.MaxDescriptionLength
            ? description
            : throw IdentityException.Invalid($"a description has at most {RegistryDbContext.MaxDescriptionLength} characters");

    private static void ValidatePassword(string? password)
    {
        if (password is null || password.Length < MinPasswordLength || password.Length > 1024)
        {
            throw IdentityException.Invalid($"a password has at least {MinPasswordLength} characters");
        }
    }

    private async Task<AccountEntity> InsertAsync(AccountEntity account, bool adoptRepositories, CancellationToken ct)
    {
        if (await db.Accounts.AnyAsync(a => a.Name == account.Name, ct))
        {
            throw IdentityException.Conflict($"the name '{account.Name}' is taken");
        }

        // A namespace that holds repositories but no account belongs to the administrators (it may be a deleted
        // user's, from before deletions decided about repositories): creating the account must not hand them over.
        if (!adoptRepositories && await db.Repositories.AnyAsync(r => r.Namespace == account.Name, ct))
        {
            throw IdentityException.Conflict($"the name '{account.Name}' is taken: its namespace holds repositories of the administrators");
        }

        db.Accounts.Add(account);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            throw IdentityException.Conflict($"the name '{account.Name}' is taken");
        }

        return account;
    }

    private async Task EnsureAnotherOwnerAsync(long organizationId, long userId, CancellationToken ct)
    {
        if (!await db.OrganizationMembers.AnyAsync(m => m.OrganizationId == organizationId && m.UserId != userId && m.Role == OrganizationRole.Owner, ct))
        {
            throw IdentityException.Conflict("an organization keeps at least one owner");
        }
    }

    private async Task<string?> SoleOwnerOfAsync(long userId, CancellationToken ct) =>
        await (from m in db.OrganizationMembers
               join o in db.Accounts on m.OrganizationId equals o.Id
               where m.UserId == userId && m.Role == OrganizationRole.Owner
                     && !db.OrganizationMembers.Any(x => x.OrganizationId == m.OrganizationId && x.UserId != userId && x.Role == OrganizationRole.Owner)
               select o.Name).FirstOrDefaultAsync(ct);

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    // The repository name grammar's component, so that a user's name is a valid namespace.
    [GeneratedRegex("^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
