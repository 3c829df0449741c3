using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Registry.Core;
using Registry.Storage.Metadata;
using Registry.Storage.Presence;

namespace Registry.Storage.Services;

/// <summary>
/// One writer per upload across replicas. Within a process <see cref="UploadHashStates"/> serialises an upload's
/// requests; across replicas the request that writes holds this lease in the upload's row: <c>writer</c> names its
/// process (<see cref="IProcessPresence"/>) and <c>updated_at</c> is set <see cref="Duration"/> ahead while it
/// writes, renewed every <see cref="RenewEvery"/>, and set back to "now" (the last touch, which upload expiry counts
/// from) when it is done. A row whose <c>updated_at</c> lies more than <see cref="ClockAllowance"/> ahead is held:
/// the request is refused (<c>BLOB_UPLOAD_INVALID</c>) at once, before it writes, as a second writer is within one
/// process, unless the holder's process is provably gone (killed mid-request, then restarted or replaced), in which
/// case the lease is taken over at once. The allowance keeps replicas whose clocks differ by less than it from
/// mistaking a fresh touch for a lease. A lease whose holder cannot be proved gone runs out within
/// <see cref="Duration"/> minus the allowance. The writer stops (<see cref="RunAsync{T}"/>) when its lease is taken
/// over or its process loses its presence, and the commit removes the session only while the lease is still its
/// own. No connection is held while the body streams.
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
    private readonly CancellationTokenSource _lost;
    private DateTime _until;
    private Task _renewing = Task.CompletedTask;
    private byte[]? _hashState;
    private long _hashOffset;

    private UploadWriterLease(
        RegistryDbContext db, IServiceScopeFactory scopes, IProcessPresence presence, string id, string writer, TimeProvider time, ILogger logger, DateTime until)
    {
        _db = db;
        _scopes = scopes;
        _id = id;
        Writer = writer;
        _time = time;
        _logger = logger;
        _until = until;
        _lost = CancellationTokenSource.CreateLinkedTokenSource(presence.Lost);
    }

    /// <summary>The process holding the lease: this one.</summary>
    public string Writer { get; }

    /// <exception cref="RegistryException">Another request holds the upload, or it is gone.</exception>
    public static async Task<UploadWriterLease> ClaimAsync(
        RegistryDbContext db, IServiceScopeFactory scopes, IProcessPresence presence, string id, TimeProvider time, ILogger logger, CancellationToken ct)
    {
        var me = await presence.GetIdAsync(ct);
        var now = Now(time);
        var until = now + Duration;
        var free = now + ClockAllowance;

        // A lease of this process is free too: its requests for one upload are serialised before they get here, so it
        // is one that a request could not give back.
        var claimed = await db.Uploads.Where(u => u.Id == id && (u.UpdatedAt <= free || u.Writer == me))
            .ExecuteUpdateAsync(s => s.SetProperty(u => u.UpdatedAt, until).SetProperty(u => u.Writer, me), ct);
        if (claimed == 0)
        {
            var held = await db.Uploads.AsNoTracking().Where(u => u.Id == id)
                .Select(u => new { u.Writer, u.UpdatedAt }).SingleOrDefaultAsync(ct)
                ?? throw new RegistryException(ErrorCode.BlobUploadUnknown, "no such upload");
            if (held.Writer is null || !await presence.IsGoneAsync(held.Writer, ct))
            {
                throw new RegistryException(ErrorCode.BlobUploadInvalid, "the upload is being written by another request");
            }

            // Its process is gone; unless another took it over first.
            claimed = await db.Uploads.Where(u => u.Id == id && u.Writer == held.Writer && u.UpdatedAt == held.UpdatedAt)
                .ExecuteUpdateAsync(s => s.SetProperty(u => u.UpdatedAt, until).SetProperty(u => u.Writer, me), ct);
            if (claimed == 0)
            {
                throw new RegistryException(ErrorCode.BlobUploadInvalid, "the upload is being written by another request");
            }

            LogTakenOver(logger, id, held.Writer);
        }

        var lease = new UploadWriterLease(db, scopes, presence, id, me, time, logger, until);
        lease._renewing = lease.RenewAsync();
        return lease;
    }

    /// <summary>
    /// Runs the write, stopping it when the lease is lost: taken over by another process that found this one gone,
    /// or no longer provable because this process lost its presence.
    /// </summary>
    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> write, CancellationToken ct)
    {
        using var both = CancellationTokenSource.CreateLinkedTokenSource(ct, _lost.Token);
        try
        {
            return await write(both.Token);
        }
        catch (OperationCanceledException) when (_lost.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            throw new RegistryException(ErrorCode.BlobUploadInvalid, "this request lost the upload to another replica while writing it; start the upload again");
        }
    }

    /// <summary>
    /// A hash state to save in the upload's row when the lease is given back (null: none can be saved, and a saved
    /// one that no longer matches the staged length is simply never used).
    /// </summary>
    public void SaveHashState(byte[]? state, long offset) => (_hashState, _hashOffset) = (state, offset);

    /// <summary>Stops renewing and gives the upload back, touched now, with the hash state to continue from.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewing;
        _stop.Dispose();
        _lost.Dispose();
        var now = Now(_time);
        var until = _until;
        var writer = Writer;
        var (hashState, hashOffset) = (_hashState, _hashOffset);
        try
        {
            // Nothing to give back when the upload was committed, discarded or taken over meanwhile.
            await _db.Uploads.Where(u => u.Id == _id && u.UpdatedAt == until && u.Writer == writer)
                .ExecuteUpdateAsync(
                    s =>
                    {
                        s.SetProperty(u => u.UpdatedAt, now).SetProperty(u => u.Writer, (string?)null);
                        if (hashState is not null)
                        {
                            s.SetProperty(u => u.HashState, hashState).SetProperty(u => u.HashOffset, hashOffset);
                        }
                    },
                    CancellationToken.None);
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
                var writer = Writer;
                try
                {
                    await using var scope = _scopes.CreateAsyncScope();
                    var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
                    var renewed = await db.Uploads.Where(u => u.Id == _id && u.UpdatedAt == current && u.Writer == writer)
                        .ExecuteUpdateAsync(s => s.SetProperty(u => u.UpdatedAt, next), _stop.Token);
                    if (renewed == 0)
                    {
                        // Committed or discarded by this request, or removed: nothing is lost. Taken over: stop writing.
                        if (await db.Uploads.AnyAsync(u => u.Id == _id, _stop.Token))
                        {
                            await _lost.CancelAsync();
                        }

                        return;
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

    [LoggerMessage(Level = LogLevel.Information, Message = "Took over the write lease of upload {UploadId} from {Writer}, a process that is gone")]
    private static partial void LogTakenOver(ILogger logger, string uploadId, string writer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not renew the write lease of upload {UploadId}; retrying")]
    private static partial void LogRenewFailed(ILogger logger, string uploadId, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not give back the write lease of upload {UploadId}; it runs out by itself")]
    private static partial void LogReleaseFailed(ILogger logger, string uploadId, Exception exception);
}
