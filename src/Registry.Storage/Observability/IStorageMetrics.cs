namespace Registry.Storage.Observability;

/// <summary>
/// What the content store reports for monitoring. The storage library names no metrics system: the host bridges
/// these calls to its own (Registry.Api exports them to Prometheus); without one they go nowhere.
/// </summary>
public interface IStorageMetrics
{
    /// <summary>Bytes of one upload request written to the staged object.</summary>
    void BytesReceived(long bytes);

    /// <summary>How long one upload chunk (a PATCH, or the body of the final PUT or of a monolithic POST) took to store.</summary>
    void ChunkStored(TimeSpan elapsed);

    /// <summary>How long verifying and committing an upload took: the digest check, the move under the digest and the metadata.</summary>
    void UploadCommitted(TimeSpan elapsed);

    /// <summary>
    /// Bytes of an upload read back from the staged object and hashed again, because no hash state covering them was
    /// at hand (a restart, a failed chunk, or a state that could not be saved).
    /// </summary>
    void BytesRehashed(long bytes);

    /// <summary>A blob store call failed for a reason other than a missing object or a cancelled request.</summary>
    /// <param name="operation">A fixed name: <c>stat</c>, <c>open</c>, <c>append</c>, <c>commit</c>…</param>
    void StorageError(string operation);
}

/// <summary>Reports nothing; what the store uses when the host bridges no metrics.</summary>
public sealed class NullStorageMetrics : IStorageMetrics
{
    public void BytesReceived(long bytes)
    {
    }

    public void ChunkStored(TimeSpan elapsed)
    {
    }

    public void UploadCommitted(TimeSpan elapsed)
    {
    }

    public void BytesRehashed(long bytes)
    {
    }

    public void StorageError(string operation)
    {
    }
}
