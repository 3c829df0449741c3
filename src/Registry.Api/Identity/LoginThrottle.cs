using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Storage.Metadata;

namespace Registry.Api.Identity;

/// <summary>
/// Counts wrong passwords in the metadata store, so every replica sees them, on two keys:
/// <list type="bullet">
/// <item>the account and the client's network (<see cref="ClientNetwork"/>): after
/// <see cref="AuthOptions.LoginFailureLimit"/> failures within the window, password attempts of that pair are refused,
/// even with the right password;</item>
/// <item>the account alone: after <see cref="AuthOptions.AccountLoginFailureLimit"/> failures from all networks
/// together, password attempts are refused from every network where the account's password was not right within
/// <see cref="KnownNetworkMemory"/>, so that guessing from many addresses is bounded too, while the user still signs
/// in from where it usually does.</item>
/// </list>
/// Each lockout of a key lasts <see cref="AuthOptions.LoginLockout"/>, doubled for every lockout in a row before it,
/// up to <see cref="AuthOptions.MaxLoginLockout"/>; the doubling starts over once the last lockout ended that long
/// ago, or after a right password from the network. Only passwords are throttled: access tokens are long random
/// secrets, and a valid one keeps working while someone guesses its user's password.
/// </summary>
public sealed class LoginThrottle(RegistryDbContext db, IOptions<AuthOptions> options, TimeProvider time)
{
    /// <summary>How long a network where the password was right stays exempt from the account-wide lockout.</summary>
    public static readonly TimeSpan KnownNetworkMemory = TimeSpan.FromDays(30);

    /// <summary>How stale the remembered success of a network may get before a new success rewrites it.</summary>
    private static readonly TimeSpan SuccessRefresh = TimeSpan.FromHours(1);

    /// <summary>How long password attempts on the account from this address must still wait, or null when they may try.</summary>
    public async Task<TimeSpan?> GetWaitAsync(string account, string? clientAddress, CancellationToken ct)
    {
        var pairKey = PairKey(account, clientAddress);
        var accountKey = AccountKey(account);
        var rows = await db.LoginThrottles.AsNoTracking().Where(t => t.Key == pairKey || t.Key == accountKey).ToListAsync(ct);
        var pair = rows.FirstOrDefault(r => r.Key == pairKey);
        var whole = rows.FirstOrDefault(r => r.Key == accountKey);
        var now = Now;

        var until = pair?.BlockedUntil;
        var known = pair?.LastSuccessAt is { } success && now - success < KnownNetworkMemory;
        if (!known && whole?.BlockedUntil is { } accountUntil && (until is null || accountUntil > until))
        {
            until = accountUntil;
        }

        return until > now ? until.Value - now : null;
    }

    public async Task RecordFailureAsync(string account, string? clientAddress, CancellationToken ct)
    {
        var settings = options.Value;
        await RecordFailureAsync(PairKey(account, clientAddress), settings.LoginFailureLimit, ct);
        if (settings.AccountLoginFailureLimit > 0)
        {
            await RecordFailureAsync(AccountKey(account), settings.AccountLoginFailureLimit, ct);
        }
    }

    /// <summary>A right password: the pair's failures and lockouts are forgotten, and its network is known to the account.</summary>
    public async Task RecordSuccessAsync(string account, string? clientAddress, CancellationToken ct)
    {
        var key = PairKey(account, clientAddress);
        var now = Now;
        var row = await db.LoginThrottles.FirstOrDefaultAsync(t => t.Key == key, ct);
        if (row is { Failures: 0, Lockouts: 0, BlockedUntil: null } && now - row.LastSuccessAt < SuccessRefresh)
        {
            // Clients that send the password with every request (the REST API) cost a read, not a write.
            db.ChangeTracker.Clear();
            return;
        }

        // One statement, as many clients signing in at once with the same account all find no row.
        db.ChangeTracker.Clear();
        await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO login_throttles (key, blocked_until, failures, last_success_at, lockouts, window_start)
            VALUES ({key}, NULL, 0, {now}, 0, {now})
            ON CONFLICT (key) DO UPDATE SET blocked_until = NULL, failures = 0, lockouts = 0,
                last_success_at = excluded.last_success_at, window_start = excluded.window_start
            """, ct);
    }

    /// <summary>The length of the n-th lockout in a row: the first lockout, doubled n-1 times, at most the maximum.</summary>
    internal static TimeSpan Lockout(int lockouts, AuthOptions settings)
    {
        var lockout = settings.LoginLockout;
        for (var i = 1; i < lockouts && lockout < settings.MaxLoginLockout; i++)
        {
            lockout *= 2;
        }

        return lockout < settings.MaxLoginLockout ? lockout : settings.MaxLoginLockout;
    }

    private async Task RecordFailureAsync(string key, int limit, CancellationToken ct)
    {
        var settings = options.Value;
        var now = Now;
        var row = await db.LoginThrottles.FirstOrDefaultAsync(t => t.Key == key, ct);
        if (row is null)
        {
            row = new LoginThrottleEntity { Key = key, WindowStart = now };
            db.LoginThrottles.Add(row);
        }
        else if (row.BlockedUntil > now)
        {
            // Locked already: the attempt was let through by the other key (a known network), or raced the lockout.
            db.ChangeTracker.Clear();
            return;
        }
        else if (now - row.WindowStart > settings.LoginFailureWindow)
        {
            row.Failures = 0;
            row.WindowStart = now;
        }

        if (row.BlockedUntil is { } lastEnded && now - lastEnded > settings.MaxLoginLockout)
        {
            row.Lockouts = 0;
        }

        row.Failures++;
        if (row.Failures >= limit)
        {
            row.Lockouts++;
            row.BlockedUntil = now + Lockout(row.Lockouts, settings);
            row.Failures = 0;
            row.WindowStart = now;
        }

        await SaveAsync(ct);
    }

    private async Task SaveAsync(CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another request wrote the same key first; one attempt less counted is harmless.
        }
        finally
        {
            db.ChangeTracker.Clear();
        }
    }

    private DateTime Now => time.GetUtcNow().UtcDateTime;

    private static string Name(string account) => (account.Length > 200 ? account[..200] : account).ToLowerInvariant();

    private static string PairKey(string account, string? clientAddress) => $"{Name(account)}|{ClientNetwork.Of(clientAddress)}";

    // "*" is no address, so the account's own key never collides with one of its pairs.
    private static string AccountKey(string account) => $"{Name(account)}|*";
}
