using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Registry.Core;
using Registry.Storage.Metadata;

namespace Registry.Storage.Services;

/// <summary>
/// One writer per upload across replicas. Within a process <see cref="UploadHashStates"/> serialises an upload's
/// requests; across replicas the request that writes holds this lease in the upload's row: <c>updated_at</c> is set
/// <see cref="Duration"/> ahead while it writes, renewed every <see cref="RenewEvery"/>, and set back to "now" (the
/// last touch, which upload expiry counts from) when it is done. A row whose <c>updated_at</c> lies more than
/// <see cref="ClockAllowance"/> ahead is held by someone else: the request is refused (<c>BLOB_UPLOAD_INVALID</c>) at
/// once, before it writes, as a second writer is within one process. The allowance keeps replicas whose clocks differ
/// by less than it from mistaking a fresh touch for a lease. A lease whose replica died runs out within
/// <see cref="Duration"/> minus the allowance. No connection is held while the body streams.
/// </summary>
internal sealed partial class UploadWriterLease : IAsyncDisposable
{
    internal static readonly TimeSpan Duration = TimeSpan.FromMinutes(2);
    internal static readonly TimeSpan RenewEvery = TimeSpan.FromSeconds(30);
    internal static readonly TimeSpan ClockAllowance = TimeSpan.FromSeconds(30);

    private readonly RegistryDbContext _db;
    private readonly IServiceScopeFactory _scopes;
    private readonly string _id;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private DateTime _until;
    private Task _renewing = Task.CompletedTask;

    private UploadWriterLease(RegistryDbContext db, IServiceScopeFactory scopes, string id, TimeProvider time, ILogger logger, DateTime until)
    {
        _db = db;
        _scopes = scopes;
        _id = id;
        _time = time;
        _logger = logger;
        _until = until;
    }

    /// <exception cref="RegistryException">Another request holds the upload, or it is gone.</exception>
    public static async Task<UploadWriterLease> ClaimAsync(
        RegistryDbContext db, IServiceScopeFactory scopes, string id, TimeProvider time, ILogger logger, CancellationToken ct)
    {
        var now = Now(time);
        var until = now + Duration;
        var free = now + ClockAllowance;
        var claimed = await db.Uploads.Where(u => u.Id == id && u.UpdatedAt <= free).ExecuteUpdateAsync(s => s.SetProperty(u => u.UpdatedAt, until), ct);
        if (claimed == 0)
        {
            throw await db.Uploads.AnyAsync(u => u.Id == id, ct)
                ? new RegistryException(ErrorCode.BlobUploadInvalid, "the upload is being written by another request")
                : new RegistryException(ErrorCode.BlobUploadUnknown, "no such upload");
        }

        var lease = new UploadWriterLease(db, scopes, id, time, logger, until);
        lease._renewing = lease.RenewAsync();
        return lease;
    }

    /// <summary>Stops renewing and gives the upload back, touched now.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewing;
        _stop.Dispose();
        var now = Now(_time);
        var until = _until;
        try
        {
            // Nothing to give back when the upload was committed or discarded meanwhile.
            await _db.Uploads.Where(u => u.Id == _id && u.UpdatedAt == until)
                .ExecuteUpdateAsync(s => s.SetProperty(u => u.UpdatedAt, now), CancellationToken.None);
        }
        catch (Exception e) when (e is DbUpdateException or InvalidOperationException or TimeoutException)
        {
            // The lease then runs out by itself.
            LogReleaseFailed(_logger, _id, e);
        }
    }

    private async Task RenewAsync()
    {
        using var timer = new PeriodicTimer(RenewEvery, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                var next = Now(_time) + Duration;
                var current = _until;
                try
                {
                    await using var scope = _scopes.CreateAsyncScope();
                    var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
                    var renewed = await db.Uploads.Where(u => u.Id == _id && u.UpdatedAt == current)
                        .ExecuteUpdateAsync(s => s.SetProperty(u => u.UpdatedAt, next), _stop.Token);
                    if (renewed == 0)
                    {
                        return; // committed or discarded by this request, or removed
                    }

                    _until = next;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogRenewFailed(_logger, _id, e);
                }
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Done writing.
        }
    }

    /// <summary>Whole milliseconds, so that a time written to either database compares equal when read back.</summary>
    private static DateTime Now(TimeProvider time)
    {
        var now = time.GetUtcNow().UtcDateTime;
        return new DateTime(now.Ticks - (now.Ticks % TimeSpan.TicksPerMillisecond), DateTimeKind.Utc);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not renew the write lease of upload {UploadId}; retrying")]
    private static partial void LogRenewFailed(ILogger logger, string uploadId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not give back the write lease of upload {UploadId}; it runs out by itself")]
    private static partial void LogReleaseFailed(ILogger logger, string uploadId, Exception exception);
}
