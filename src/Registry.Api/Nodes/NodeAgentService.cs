using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Api.Identity;
using Registry.Storage.Metadata;
using Registry.Storage.Nodes;

namespace Registry.Api.Nodes;

/// <summary>
/// The agent's side of the protocol after the join: heartbeats (capacity, clock, observed containers) and the
/// desired state, held open as a long-poll until the node's generation moves or the wait is up.
/// </summary>
public sealed class NodeAgentService(
    RegistryDbContext db, GenerationWatch watch, TokenIssuer issuer, IOptions<NodeOptions> options, TimeProvider time)
{
    public const int MaxReports = 1000;
    public static readonly TimeSpan MaxWait = TimeSpan.FromSeconds(60);

    public async Task<HeartbeatAnswer> HeartbeatAsync(NodeIdentity node, HeartbeatBody body, CancellationToken ct)
    {
        var capacity = NodeJoin.CheckCapacity(body.Capacity);
        var agentVersion = NodeJoin.CheckAgentVersion(body.AgentVersion);
        var reports = body.Containers ?? [];
        if (reports.Count > MaxReports)
        {
            throw IdentityException.Invalid($"at most {MaxReports} containers per heartbeat");
        }

        foreach (var report in reports)
        {
            if (report.Id is null || report.Placement is null || report.State is null || !ContainerStates.All.Contains(report.State))
            {
                throw IdentityException.Invalid(
                    $"each container needs id, placement and a state of {string.Join(", ", ContainerStates.All.Order(StringComparer.Ordinal))}");
            }
        }

        var now = time.GetUtcNow().UtcDateTime;
        var skew = Math.Round(NodeJoin.SkewSeconds(body.Time, now), 3);
        await db.Nodes.Where(n => n.Id == node.Id).ExecuteUpdateAsync(s => s
            .SetProperty(n => n.LastSeenAt, now)
            .SetProperty(n => n.ClockSkewSeconds, skew)
            .SetProperty(n => n.Cpus, n => capacity.Cpus ?? n.Cpus)
            .SetProperty(n => n.MemoryBytes, n => capacity.MemoryBytes ?? n.MemoryBytes)
            .SetProperty(n => n.DiskFreeBytes, n => capacity.DiskFreeBytes ?? n.DiskFreeBytes)
            .SetProperty(n => n.AgentVersion, n => agentVersion ?? n.AgentVersion), ct);

        // Only what is still placed on this node with the reported placement: a container moved away while the node
        // was gone is another node's now, and this node's old report of it means nothing.
        foreach (var report in reports)
        {
            var error = report.Error is { Length: > NodeModel.MaxErrorLength } tooLong ? tooLong[..NodeModel.MaxErrorLength] : report.Error;
            var restarts = Math.Max(0, report.RestartCount ?? 0);
            var startedAt = report.StartedAt?.UtcDateTime;
            var finishedAt = report.FinishedAt?.UtcDateTime;
            await db.NodeContainers
                .Where(c => c.Id == report.Id && c.NodeId == node.Id && c.Placement == report.Placement)
                .ExecuteUpdateAsync(s => s
                    .SetProperty(c => c.State, report.State!)
                    .SetProperty(c => c.ExitCode, report.ExitCode)
                    .SetProperty(c => c.RestartCount, c => c.RestartBase + restarts)
                    .SetProperty(c => c.StartedAt, startedAt)
                    .SetProperty(c => c.FinishedAt, finishedAt)
                    .SetProperty(c => c.Error, error)
                    .SetProperty(c => c.ReportedAt, now), ct);
        }

        var generation = await db.Nodes.Where(n => n.Id == node.Id).Select(n => n.Generation).FirstOrDefaultAsync(ct);
        return new HeartbeatAnswer(generation, now, skew, options.Value.HeartbeatSeconds);
    }

    /// <summary>
    /// The node's desired state: at once when its generation differs from <paramref name="after"/> (or none was
    /// given), otherwise when it changes or after <paramref name="wait"/>. Every answer is the whole state, with a
    /// fresh pull token per container.
    /// </summary>
    public async Task<DesiredAnswer> DesiredAsync(NodeIdentity node, long? after, TimeSpan wait, string registryHost, CancellationToken ct)
    {
        var generation = await GenerationAsync(node.Id, ct);
        if (after == generation && wait > TimeSpan.Zero)
        {
            await watch.WaitAsync(node.Id, generation, wait < MaxWait ? wait : MaxWait, ct);
            generation = await GenerationAsync(node.Id, ct);
        }

        // The generation is read before the containers: a change in between is answered with the older number, and
        // the next poll, sent with it, is answered at once.
        var containers = await db.NodeContainers.AsNoTracking().Where(c => c.NodeId == node.Id)
            .OrderBy(c => c.CreatedAt).ThenBy(c => c.Id).ToListAsync(ct);
        var lifetime = options.Value.PullTokenLifetime;
        var list = containers.Select(c =>
        {
            var token = issuer.IssueForNode(node.Id, node.Name, c.Repository, lifetime);
            return new DesiredContainer(
                c.Id, c.Placement, $"{registryHost}/{c.Repository}@{c.Digest}", c.Reference,
                ReadList(c.Command), ReadList(c.Env) ?? [], ReadList(c.Ports) ?? [], OnNode(c.OwnerId, ReadList(c.Volumes)),
                c.MemoryBytes, c.Cpus, c.Pids, c.Restart, c.Desired, c.StartSerial,
                token.Token, token.IssuedAt.UtcDateTime.AddSeconds(token.ExpiresIn));
        }).ToList();
        return new DesiredAnswer(generation, list);
    }

    /// <summary>
    /// Volumes as the node names them: a named volume belongs to the user who asked for it, so two users' "data" on one
    /// node are two volumes (<c>u{owner id}-data</c>), never one shared by both. Bind mounts (administrators') are as given.
    /// </summary>
    public static List<string> OnNode(long ownerId, List<string>? volumes) =>
        volumes?.Select(v => v.StartsWith('/') ? v : $"u{ownerId.ToString(System.Globalization.CultureInfo.InvariantCulture)}-{v}").ToList() ?? [];

    public static List<string>? ReadList(string? json) => json is null ? null : JsonSerializer.Deserialize<List<string>>(json);

    private async Task<long> GenerationAsync(long nodeId, CancellationToken ct) =>
        await db.Nodes.Where(n => n.Id == nodeId).Select(n => (long?)n.Generation).FirstOrDefaultAsync(ct)
        ?? throw IdentityException.NotFound("the node has been removed");
}
