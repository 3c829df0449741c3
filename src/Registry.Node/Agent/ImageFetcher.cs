using System.Collections.Concurrent;
using Registry.Node.Client;
using Registry.Node.Cli;
using Registry.Node.Content;

namespace Registry.Node.Agent;

/// <summary>
/// The image of a desired container, pulled unless the node has it unpacked already. The pull
/// sends the container's pull token as a bearer token (no user secret is ever on the node); a token
/// about to expire is exchanged for a fresh one by asking for the desired state again. Pulls of the
/// same image wait for each other; pulls of different images run at once.
/// </summary>
internal sealed class ImageFetcher(NodeStores stores, Uri server, Func<string, CancellationToken, Task<DesiredContainer?>> refresh, AgentLog log, TimeProvider time)
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromMinutes(10);

    /// <summary>A token that expires within this is not used: a pull of a large image needs it for a while.</summary>
    private static readonly TimeSpan TokenMargin = TimeSpan.FromSeconds(60);

    private readonly ConcurrentDictionary<string, SemaphoreSlim> _pulling = new(StringComparer.Ordinal);

    public async Task<ImageRecord> FetchAsync(DesiredContainer desired, CancellationToken cancellationToken)
    {
        if (!ImageReference.TryParse(desired.Image, out var reference, out var error))
        {
            throw new RegistryClientException($"invalid image reference '{desired.Image}': {error}");
        }

        var gate = _pulling.GetOrAdd(reference.ToString(), _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (await stores.Images.FindAsync(reference, cancellationToken).ConfigureAwait(false) is { } present && present.ChainIds.All(stores.Snapshots.Contains) && present.ChainIds.Count > 0)
            {
                return present;
            }

            if (desired.PullTokenExpiresAt is { } expires && expires - TokenMargin <= time.GetUtcNow())
            {
                desired = await refresh(desired.Id, cancellationToken).ConfigureAwait(false)
                    ?? throw new RegistryClientException("the registry no longer places this container here");
            }

            using var held = await PruneLock.ForPullAsync(stores.Root, LockTimeout, cancellationToken).ConfigureAwait(false);
            using var client = new RegistryClient(reference.Registry, new RegistryClientOptions
            {
                BearerToken = desired.PullToken,
                // The registry that handed out the token names itself in "image": plain HTTP when the node talks to it so.
                PlainHttp = server.Scheme == Uri.UriSchemeHttp && string.Equals(reference.Registry, server.Authority, StringComparison.OrdinalIgnoreCase),
            });
            var puller = new ImagePuller(stores.Images) { Snapshots = stores.Snapshots };
            var result = await puller.PullAsync(client, reference, platform: null, progress: null, cancellationToken).ConfigureAwait(false);
            log.Write($"pulled {reference} for {Reconciler.Short(desired.Id)}");
            return result.Image;
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>A failure that the registry (or the network to it) being away explains: worth trying again.</summary>
    public static bool IsTransient(Exception e) => e switch
    {
        NodeServerUnreachableException or HttpRequestException or TimeoutException => true,
        RegistryClientException { StatusCode: >= 500 or 429 } => true,
        RegistryClientException { InnerException: HttpRequestException or IOException } => true,
        OperationCanceledException => true, // a request's own time limit
        _ => false,
    };
}
