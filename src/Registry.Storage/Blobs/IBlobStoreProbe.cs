namespace Registry.Storage.Blobs;

/// <summary>
/// Tells whether the store can be used right now, for readiness probes: cheap, read-only where the backend allows,
/// never touching a blob. Throws when the store cannot be reached or written; the message may name the store (a
/// directory, an endpoint and bucket) but never a credential.
/// </summary>
public interface IBlobStoreProbe
{
    Task ProbeAsync(CancellationToken cancellationToken);
}
