using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Storage.Metadata;

namespace Registry.Api.Identity;

/// <summary>
/// Counts failed logins per account and client address in the metadata store, so every replica sees them.
/// After <see cref="AuthOptions.LoginFailureLimit"/> failures within the window, logins of that pair are refused
/// until the lockout passes, even with the right password.
/// </summary>
public sealed class LoginThrottle(RegistryDbContext db, IOptions<AuthOptions> options, TimeProvider time)
{
    /// <summary>How long the pair must still wait, or null when it may try.</summary>
    public async Task<TimeSpan?> GetWaitAsync(string account, string? clientAddress, CancellationToken ct)
    {
        var key = Key(account, clientAddress);
        var blockedUntil = await db.LoginThrottles.AsNoTracking().Where(t => t.Key == key).Select(t => t.BlockedUntil).FirstOrDefaultAsync(ct);
        var now = Now;
        return blockedUntil > now ? blockedUntil.Value - now : null;
    }

    public async Task RecordFailureAsync(string account, string? clientAddress, CancellationToken ct)
    {
        var key = Key(account, clientAddress);
        var now = Now;
        var settings = options.Value;
        var row = await db.LoginThrottles.FirstOrDefaultAsync(t => t.Key == key, ct);
        if (row is null)
        {
            row = new LoginThrottleEntity { Key = key, WindowStart = now };
            db.LoginThrottles.Add(row);
        }
        else if (now - row.WindowStart > settings.LoginFailureWindow || row.BlockedUntil is not null && row.BlockedUntil <= now)
        {
            row.Failures = 0;
            row.WindowStart = now;
            row.BlockedUntil = null;
        }

        row.Failures++;
        if (row.Failures >= settings.LoginFailureLimit)
        {
            row.BlockedUntil = now + settings.LoginLockout;
        }

        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another request inserted the same pair first; one failure less counted is harmless.
        }
        finally
        {
            db.ChangeTracker.Clear();
        }
    }

    public Task RecordSuccessAsync(string account, string? clientAddress, CancellationToken ct)
    {
        var key = Key(account, clientAddress);
        return db.LoginThrottles.Where(t => t.Key == key).ExecuteDeleteAsync(ct);
    }

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    private static string Key(string account, string? clientAddress) =>
        $"{(account.Length > 200 ? account[..200] : account).ToLowerInvariant()}|{clientAddress ?? "-"}";
}
