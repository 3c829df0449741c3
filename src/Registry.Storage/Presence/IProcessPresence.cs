namespace Registry.Storage.Presence;

/// <summary>
/// This process's presence, as other processes sharing the database can check it. A write lease names the process
/// that holds it; when that process is provably gone (killed, crashed, stopped), another takes the lease at once
/// instead of waiting for it to run out. A process whose presence cannot be decided is taken to be alive.
/// </summary>
public interface IProcessPresence
{
    /// <summary>This process's id, which a lease records; taken on first use.</summary>
    ValueTask<string> GetIdAsync(CancellationToken ct);

    /// <summary>
    /// Cancelled when this process can no longer prove its presence (its database session was lost): others may
    /// then take its leases, so its writers stop.
    /// </summary>
    CancellationToken Lost { get; }

    /// <summary>True only when the process with <paramref name="id"/> certainly no longer runs.</summary>
    Task<bool> IsGoneAsync(string id, CancellationToken ct);
}
