using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Core;
using Registry.Storage.Gc;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Api.Identity;

/// <summary>What happens to the repositories of a user who is deleted.</summary>
public enum RepositoryDisposition
{
    /// <summary>The deletion is refused while the user owns any repository.</summary>
    Refuse,

    /// <summary>The repositories are deleted with the user.</summary>
    Delete,

    /// <summary>The repositories move to another user's or organization's namespace.</summary>
    Transfer,
}

/// <summary>What a deletion did: the repositories deleted, or each one moved with its new name.</summary>
public sealed record UserRemovalResult(string User, IReadOnlyList<string> Deleted, IReadOnlyList<RepositoryMove> Transferred);

public sealed record RepositoryMove(string From, string To);

/// <summary>
/// Deletes a user together with an explicit decision about its namespace. A user's repositories are never left
/// behind without an owner: whoever later took the name (self sign-up included) would inherit them. The
/// administrator either deletes them, moves them to another account's namespace, or the deletion is refused.
/// Everything, audit entries included, happens in one transaction.
/// </summary>
public sealed class UserRemoval(RegistryDbContext db, AccountService accounts, UploadService uploads, TimeProvider time, IOptions<GcOptions> gc)
{
    public async Task<UserRemovalResult> DeleteAsync(
        string name, RepositoryDisposition disposition, string? transferTo, ChangeAuthor author, CancellationToken ct)
    {
        var user = await accounts.GetAsync(name, AccountKind.User, ct);
        await accounts.EnsureDeletableAsync(user, ct);
        var target = disposition == RepositoryDisposition.Transfer ? await TransferTargetAsync(name, transferTo, ct) : null;

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var repositories = await db.Repositories.Where(r => r.Namespace == name).OrderBy(r => r.Name).ToListAsync(ct);
        var now = time.GetUtcNow().UtcDateTime;
        var deleted = new List<string>();
        var moved = new List<RepositoryMove>();
        if (repositories.Count > 0)
        {
            switch (disposition)
            {
                case RepositoryDisposition.Refuse:
                    throw IdentityException.Conflict(
                        $"user '{name}' owns {repositories.Count} repositor{(repositories.Count == 1 ? "y" : "ies")}; "
                        + "delete them with the user (repositories=delete) or move them to another account (repositories=transfer&to=NAME)");
                case RepositoryDisposition.Delete:
                    await RepositoryService.DeleteAsync(db, repositories.Select(r => r.Id).ToList(), now + gc.Value.ReviewDelay, ct);
                    deleted.AddRange(repositories.Select(r => r.Name));
                    foreach (var repository in deleted)
                    {
                        Audit(author, AuditActions.RepositoryDelete, repository, $"with user {name}", now);
                    }

                    break;
                case RepositoryDisposition.Transfer:
                    moved.AddRange(await MoveAsync(repositories, name, target!, ct));
                    foreach (var move in moved)
                    {
                        Audit(author, AuditActions.RepositoryTransfer, move.From, $"to {move.To}", now);
                    }

                    break;
            }
        }

        // The user's containers go with the account; the memory they held goes back to their nodes.
        await Nodes.ContainerPlacements.DeleteOwnedAsync(db, user.Id, ct);
        db.Accounts.Remove(await db.Accounts.FirstAsync(a => a.Id == user.Id, ct));
        Audit(author, AuditActions.UserDelete, name, Summary(deleted, moved, target), now);
        await db.SaveChangesAsync(ct);
        var abandoned = await UploadsOfAsync(name, ct);
        await transaction.CommitAsync(ct);
        db.ChangeTracker.Clear();

        // Upload sessions into the old names go with them, so that nobody who later owns a name resumes them.
        foreach (var id in abandoned)
        {
            await uploads.DiscardAsync(id, CancellationToken.None);
        }

        return new UserRemovalResult(name, deleted, moved);
    }

    private async Task<AccountEntity> TransferTargetAsync(string name, string? transferTo, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(transferTo))
        {
            throw IdentityException.Invalid("a transfer names the user or organization that receives the repositories (to=NAME)");
        }

        if (transferTo == name)
        {
            throw IdentityException.Invalid("the repositories cannot be transferred to the user being deleted");
        }

        return await db.Accounts.AsNoTracking().FirstOrDefaultAsync(a => a.Name == transferTo, ct)
            ?? throw IdentityException.NotFound($"there is no user or organization '{transferTo}' to receive the repositories");
    }

    private async Task<List<RepositoryMove>> MoveAsync(List<RepositoryEntity> repositories, string from, AccountEntity target, CancellationToken ct)
    {
        var moves = repositories.Select(r => new RepositoryMove(r.Name, target.Name + r.Name[from.Length..])).ToList();
        var invalid = moves.FirstOrDefault(m => !RepositoryName.IsValid(m.To));
        if (invalid is not null)
        {
            throw IdentityException.Invalid($"'{invalid.From}' cannot move: '{invalid.To}' is not a valid repository name");
        }

        var names = moves.Select(m => m.To).ToList();
        var taken = await db.Repositories.Where(r => names.Contains(r.Name)).Select(r => r.Name).OrderBy(n => n).ToListAsync(ct);
        if (taken.Count > 0)
        {
            throw IdentityException.Conflict($"'{target.Name}' already has {string.Join(", ", taken)}; nothing was moved");
        }

        foreach (var (repository, move) in repositories.Zip(moves))
        {
            repository.Name = move.To;
            repository.Namespace = target.Name;
        }

        return moves;
    }

    private Task<List<string>> UploadsOfAsync(string name, CancellationToken ct)
    {
        var prefix = name + "/";
        return db.Uploads.Where(u => u.RepositoryName.StartsWith(prefix)).Select(u => u.Id).ToListAsync(ct);
    }

    private void Audit(ChangeAuthor author, string action, string target, string? detail, DateTime now) =>
        db.AuditEvents.Add(new AuditEventEntity
        {
            Time = now,
            Actor = author.User,
            ClientAddress = author.ClientAddress,
            Action = action,
            Target = target,
            Success = true,
            Detail = detail,
        });

    private static string? Summary(List<string> deleted, List<RepositoryMove> moved, AccountEntity? target) =>
        deleted.Count > 0 ? $"{deleted.Count} repositories deleted"
        : moved.Count > 0 ? $"{moved.Count} repositories transferred to {target!.Name}"
        : null;
}
