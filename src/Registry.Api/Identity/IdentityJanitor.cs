using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Storage.Hosting;
using Registry.Storage.Metadata;

namespace Registry.Api.Identity;

/// <summary>
/// Removes what identity leaves behind once it can no longer matter: expired refresh tokens (a <c>docker login</c>
/// makes one each time) and login throttle rows whose failure window has passed, whose last lockout ended longer ago
/// than the longest lockout (so it no longer doubles the next one), and whose last right password is forgotten.
/// </summary>
public sealed partial class IdentityJanitor(
    IServiceScopeFactory scopes,
    IOptions<AuthOptions> options,
    TimeProvider time,
    ILogger<IdentityJanitor> logger) : PeriodicChore(time, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromHours(1);

    protected override Task RunOnceAsync(CancellationToken ct) => CleanOnceAsync(ct);

    public async Task<int> CleanOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        var now = Time.GetUtcNow().UtcDateTime;
        var windowStart = now - options.Value.LoginFailureWindow;
        var lockoutForgotten = now - options.Value.MaxLoginLockout;
        var successForgotten = now - LoginThrottle.KnownNetworkMemory;

        var refreshTokens = await db.RefreshTokens.Where(r => r.ExpiresAt <= now).ExecuteDeleteAsync(ct);
        var throttles = await db.LoginThrottles
            .Where(t => t.WindowStart < windowStart
                && (t.BlockedUntil == null || t.BlockedUntil < lockoutForgotten)
                && (t.LastSuccessAt == null || t.LastSuccessAt < successForgotten))
            .ExecuteDeleteAsync(ct);
        if (refreshTokens + throttles > 0)
        {
            LogCleaned(Logger, refreshTokens, throttles);
        }

        return refreshTokens + throttles;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {RefreshTokens} expired refresh tokens and {Throttles} stale login throttle rows")]
    private static partial void LogCleaned(ILogger logger, int refreshTokens, int throttles);
}
