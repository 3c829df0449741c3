using System.Runtime.InteropServices;
using Registry.Node.Cli;
using Registry.Node.Runtime.Security;

namespace Registry.Node.Agent;

/// <summary>
/// <c>registry-node agent</c>, in the foreground (systemd or a container engine supervises it). Three
/// loops talk to the registry, each retried with back-off while the registry is away:
/// <list type="bullet">
/// <item>heartbeat: capacity, version, clock and the observed state of every managed container, every heartbeatSeconds;</item>
/// <item>desired state: a long-poll, each answer handed to the <see cref="Reconciler"/>;</item>
/// <item>logs: the containers' new log lines (<see cref="LogShipper"/>).</item>
/// </list>
/// SIGTERM or SIGINT ends the loops and the agent; the containers keep running under their own
/// supervisors. A 401 on a node route means the node was removed: the agent says so and exits 1,
/// leaving the containers alone.
/// </summary>
internal sealed class NodeAgent : IDisposable
{
    public const int WaitSeconds = 30;
    private static readonly TimeSpan LogPoll = TimeSpan.FromSeconds(1);

    private readonly NodeStores _stores;
    private readonly NodeIdentity _identity;
    private readonly NodeServerClient _client;
    private readonly AgentLog _log;
    private readonly TimeProvider _time;
    private readonly ServerRetry _retry;
    private readonly ManagedContainers _managed;
    private readonly Reconciler _reconciler;
    private readonly LogShipper _shipper;
    private int _heartbeatSeconds;

    private NodeAgent(NodeStores stores, AgentFiles files, NodeIdentity identity, UsernsMapping? userns, AgentLog log, TimeProvider time)
    {
        _stores = stores;
        _identity = identity;
        _log = log;
        _time = time;
        _heartbeatSeconds = identity.HeartbeatSeconds > 0 ? identity.HeartbeatSeconds : 5;
        var server = new Uri(identity.Server);
        _client = new NodeServerClient(server, identity.Credential);
        _retry = new ServerRetry(log, time);
        _managed = new ManagedContainers(files);
        var images = new ImageFetcher(stores, server, FreshDesiredAsync, log, time);
        _reconciler = new Reconciler(stores, _managed, log, images, userns);
        _shipper = new LogShipper(files, stores.Root);
    }

    /// <summary>Runs until <paramref name="cancellationToken"/>, SIGTERM or SIGINT (exit 0), or until the registry refuses the node (exit 1).</summary>
    /// <exception cref="AgentException">The node has not joined.</exception>
    public static async Task<int> RunAsync(string root, UsernsMapping? userns, TextWriter output, CancellationToken cancellationToken)
    {
        var stores = new NodeStores(root);
        var files = new AgentFiles(stores.Root);
        var identity = files.ReadIdentity() ?? throw new AgentException("this node has not joined a registry: run registry-node join");
        var log = new AgentLog(output, TimeProvider.System);
        using var agent = new NodeAgent(stores, files, identity, userns, log, TimeProvider.System);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        return await agent.RunAsync(stop).ConfigureAwait(false);

        void Stop(PosixSignalContext context)
        {
            // The agent ends itself, after its loops: the runtime's default would end it mid-write.
            context.Cancel = true;
            stop.Cancel();
        }
    }

    public void Dispose() => _client.Dispose();

    private async Task<int> RunAsync(CancellationTokenSource stop)
    {
        _log.Write($"node {_identity.Name} of {_identity.Server} started; {_managed.All().Count} managed containers");
        var removed = false;
        async Task Loop(string name, Func<CancellationToken, Task> body)
        {
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    await body(stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
                catch (NodeCredentialRejectedException)
                {
                    removed = true;
                    await stop.CancelAsync().ConfigureAwait(false);
                }
                catch (Exception e)
                {
                    // Not the registry (that is retried inside): the node itself, a full disk, a file being replaced. Go on.
                    _log.Write($"{name}: {NodeCli.Describe(e)}; going on in {ServerRetry.MaxDelay.TotalSeconds:0} s");
                    try
                    {
                        await Task.Delay(ServerRetry.MaxDelay, _time, stop.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
            }
        }

        await Task.WhenAll(Loop("heartbeat", HeartbeatLoopAsync), Loop("desired state", DesiredLoopAsync), Loop("logs", LogLoopAsync)).ConfigureAwait(false);
        await _reconciler.WhenIdleAsync().ConfigureAwait(false);
        if (removed)
        {
            _log.Write("the registry no longer knows this node (removed?); run registry-node join again");
            return NodeCli.Failed;
        }

        _log.Write("stopped; the containers keep running");
        return NodeCli.Ok;
    }

    private async Task HeartbeatLoopAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var answer = await _retry.RunAsync(
                async ct => await _client.HeartbeatAsync(
                    new HeartbeatRequest(
                        HostCapacity.Measure(_stores.Root),
                        AgentVersion.Value,
                        _time.GetUtcNow(),
                        await _reconciler.ObserveAsync(ct).ConfigureAwait(false)),
                    ct).ConfigureAwait(false),
                cancellationToken).ConfigureAwait(false);
            if (answer.HeartbeatSeconds > 0)
            {
                _heartbeatSeconds = answer.HeartbeatSeconds;
            }

            await Task.Delay(TimeSpan.FromSeconds(_heartbeatSeconds), _time, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task DesiredLoopAsync(CancellationToken cancellationToken)
    {
        // No generation yet: -1 is none the registry has, so the first answer comes at once.
        var after = -1L;
        while (true)
        {
            var desired = await _retry.RunAsync(ct => _client.GetDesiredAsync(after, WaitSeconds, ct), cancellationToken).ConfigureAwait(false);
            _reconciler.Apply(desired, cancellationToken);
            after = desired.Generation;
        }
    }

    private async Task LogLoopAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var more = await _shipper.ShipAsync(
                _managed.All(),
                (request, ct) => _retry.RunAsync(c => _client.PostLogsAsync(request, c), ct),
                cancellationToken).ConfigureAwait(false);
            if (!more)
            {
                await Task.Delay(LogPoll, _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A container's entry in a desired state fetched now (its pull token is new); null when it is no longer placed here.</summary>
    private async Task<DesiredContainer?> FreshDesiredAsync(string id, CancellationToken cancellationToken)
    {
        var desired = await _retry.RunAsync(ct => _client.GetDesiredAsync(-1, 0, ct), cancellationToken).ConfigureAwait(false);
        return desired.Containers.FirstOrDefault(c => c.Id == id);
    }
}
