using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Registry.Api.Identity;
using Registry.Api.Rest;
using Registry.Core;
using Registry.Storage.Metadata;
using Registry.Storage.Nodes;
using Registry.Storage.Services;

namespace Registry.Api.Nodes;

/// <summary>A container with the names its view shows: its node's and its creator's.</summary>
public sealed record ContainerRecord(NodeContainerEntity Container, string? Node, string CreatedBy);

/// <summary>
/// Containers users run on nodes. Anyone signed in may run an image they may pull; each manages the containers they
/// created, administrators all of them. Another user's container is not found, as it would be if it did not exist.
/// </summary>
public sealed class ContainerService(
    RegistryDbContext db, PermissionService permissions, ManifestService manifests, NodeScheduler scheduler, ContainerPlacements placements, TimeProvider time)
{
    public const string NoNodeFits = "NO_NODE_FITS";

    public async Task<ContainerRecord> CreateAsync(Caller caller, ContainerBody body, string registryHost, CancellationToken ct)
    {
        var spec = ContainerSpec.Parse(body);
        if (spec.HasBindMount && !ManagesAll(caller))
        {
            throw IdentityException.Denied("bind mounts (/host/path:/path) are for administrators only: a bind mount of / is root on the node");
        }

        var (repository, digest) = await ResolveImageAsync(caller, spec.Image, registryHost, ct);
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var now = time.GetUtcNow().UtcDateTime;
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var placement = await scheduler.ReserveAsync(spec.Node, spec.Selector, spec.Memory ?? 0, excludeNodeId: null, ct);
        if (placement.NodeId is not { } nodeId)
        {
            throw new ApiException(StatusCodes.Status409Conflict, NoNodeFits, placement.Refusal!);
        }

        db.NodeContainers.Add(new NodeContainerEntity
        {
            Id = id,
            Name = spec.Name ?? $"{repository[(repository.LastIndexOf('/') + 1)..]}-{id[..8]}",
            OwnerId = caller.UserId,
            NodeId = nodeId,
            Pinned = spec.Node is not null,
            Selector = spec.Selector.Count == 0 ? null : JsonSerializer.Serialize(spec.Selector),
            Reference = spec.Image,
            Repository = repository,
            Digest = digest,
            Command = spec.Command is null ? null : JsonSerializer.Serialize(spec.Command),
            Env = JsonSerializer.Serialize(spec.Env),
            Ports = JsonSerializer.Serialize(spec.Ports),
            Volumes = JsonSerializer.Serialize(spec.Volumes),
            MemoryBytes = spec.Memory,
            Cpus = spec.Cpus,
            Pids = spec.Pids,
            Restart = spec.Restart,
            Desired = DesiredStates.Running,
            StartSerial = 0,
            Placement = 1,
            State = ContainerStates.Pending,
            CreatedAt = now,
            PlacedAt = now,
        });
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        await transaction.CommitAsync(ct);
        return await FindAsync(caller, id, ct);
    }

    public async Task<List<ContainerRecord>> ListAsync(Caller caller, string? node, CancellationToken ct)
    {
        var containers = db.NodeContainers.AsNoTracking();
        if (!ManagesAll(caller))
        {
            containers = containers.Where(c => c.OwnerId == caller.UserId);
        }

        if (node is not null)
        {
            containers = containers.Where(c => db.Nodes.Any(n => n.Id == c.NodeId && n.Name == node));
        }

        var records = await Records(containers).ToListAsync(ct);
        return records.OrderBy(r => r.Container.CreatedAt).ThenBy(r => r.Container.Id, StringComparer.Ordinal).ToList();
    }

    /// <summary>The caller's container (any, for administrators); not found otherwise.</summary>
    public async Task<ContainerRecord> FindAsync(Caller caller, string id, CancellationToken ct)
    {
        var record = await Records(db.NodeContainers.AsNoTracking().Where(c => c.Id == id)).FirstOrDefaultAsync(ct);
        if (record is null || (!ManagesAll(caller) && record.Container.OwnerId != caller.UserId))
        {
            throw IdentityException.NotFound($"there is no container {id}");
        }

        return record;
    }

    public async Task<ContainerRecord> StopAsync(Caller caller, string id, CancellationToken ct)
    {
        await FindAsync(caller, id, ct);
        await ChangeAsync(id, c => c.Desired == DesiredStates.Running, s => s.SetProperty(c => c.Desired, DesiredStates.Stopped), ct);
        return await FindAsync(caller, id, ct);
    }

    /// <summary>Start and restart: the start serial grows, so the agent (re)starts it; a container on no node is placed again.</summary>
    public async Task<ContainerRecord> StartAsync(Caller caller, string id, CancellationToken ct)
    {
        var record = await FindAsync(caller, id, ct);
        if (record.Container.NodeId is null)
        {
            if (record.Container.Pinned)
            {
                throw new ApiException(StatusCodes.Status409Conflict, NoNodeFits, "the node it was pinned to was removed; run it again on another node");
            }

            var placement = await placements.PlaceAgainAsync(record.Container, pinnedNode: null, ct);
            if (placement.NodeId is null)
            {
                throw new ApiException(StatusCodes.Status409Conflict, NoNodeFits, placement.Refusal!);
            }
        }
        else
        {
            await ChangeAsync(id, _ => true, s => s
                .SetProperty(c => c.Desired, DesiredStates.Running)
                .SetProperty(c => c.StartSerial, c => c.StartSerial + 1), ct);
        }

        return await FindAsync(caller, id, ct);
    }

    public async Task<ContainerRecord> DeleteAsync(Caller caller, string id, CancellationToken ct)
    {
        // Conditional on the node and placement read, so that the memory goes back to the node that held it even when
        // the monitor moves the container meanwhile.
        for (var attempt = 0; attempt < 5; attempt++)
        {
            var record = await FindAsync(caller, id, ct);
            var container = record.Container;
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var deleted = await db.NodeContainers
                .Where(c => c.Id == id && c.NodeId == container.NodeId && c.Placement == container.Placement)
                .ExecuteDeleteAsync(ct);
            if (deleted == 0)
            {
                continue;
            }

            if (container.NodeId is { } nodeId)
            {
                await scheduler.ReleaseAsync(nodeId, container.MemoryBytes ?? 0, ct);
            }

            await transaction.CommitAsync(ct);
            return record;
        }

        throw IdentityException.Conflict($"container {id} kept changing; try again");
    }

    /// <summary>
    /// The repository and manifest digest an image reference names now. A repository the caller may not pull is
    /// reported as unknown, as /v2 does, so that a private repository's existence is not revealed.
    /// </summary>
    public async Task<(string Repository, string Digest)> ResolveImageAsync(Caller caller, string image, string registryHost, CancellationToken ct)
    {
        var (repository, reference) = ParseImage(image, registryHost);
        var actions = await permissions.GetRepositoryActionsAsync(caller, repository, ct);
        var manifest = actions.HasFlag(RegistryAction.Pull) ? await manifests.GetAsync(repository, reference, ct) : null;
        return manifest is null
            ? throw new ApiException(StatusCodes.Status404NotFound, "MANIFEST_UNKNOWN", $"manifest unknown: {repository}{(reference.Tag is null ? "@" : ":")}{reference} is not in this registry, or you may not pull it")
            : (repository, manifest.Digest);
    }

    /// <summary><c>[HOST/]NAME[:TAG][@DIGEST]</c>; the tag defaults to latest and a host must be this registry's.</summary>
    public static (string Repository, ManifestReference Reference) ParseImage(string image, string registryHost)
    {
        var rest = image;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 && rest[..slash] is var first && (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost"))
        {
            if (!string.Equals(first, registryHost, StringComparison.OrdinalIgnoreCase))
            {
                throw IdentityException.Invalid($"image '{image}' names another registry ({first}); nodes run images of this registry ({registryHost})");
            }

            rest = rest[(slash + 1)..];
        }

        string repository;
        string referenceText;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        var named = at >= 0 ? rest[..at] : rest;
        var colon = named.LastIndexOf(':');
        var tagged = colon > named.LastIndexOf('/');
        repository = tagged ? named[..colon] : named;
        referenceText = at >= 0 ? rest[(at + 1)..] : tagged ? named[(colon + 1)..] : "latest";
        if (RepositoryName.Validate(repository) is { } nameError)
        {
            throw IdentityException.Invalid($"image '{image}': {nameError}");
        }

        if (!ManifestReference.TryParse(referenceText, out var reference, out _, out var detail))
        {
            throw IdentityException.Invalid($"image '{image}': {detail}");
        }

        return (repository, reference);
    }

    private static bool ManagesAll(Caller caller) => caller.IsAdmin && caller.HasUnlimitedToken;

    private IQueryable<ContainerRecord> Records(IQueryable<NodeContainerEntity> containers) =>
        from c in containers
        join a in db.Accounts on c.OwnerId equals a.Id
        join n in db.Nodes on c.NodeId equals n.Id into onNode
        from n in onNode.DefaultIfEmpty()
        select new ContainerRecord(c, n == null ? null : n.Name, a.Name);

    /// <summary>Changes a container and bumps the generation of the node it is on, in one transaction.</summary>
    private async Task ChangeAsync(
        string id,
        System.Linq.Expressions.Expression<Func<NodeContainerEntity, bool>> when,
        Action<Microsoft.EntityFrameworkCore.Query.UpdateSettersBuilder<NodeContainerEntity>> change,
        CancellationToken ct)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var changed = await db.NodeContainers.Where(c => c.Id == id).Where(when).ExecuteUpdateAsync(change, ct);
        if (changed > 0 && await db.NodeContainers.Where(c => c.Id == id).Select(c => c.NodeId).FirstOrDefaultAsync(ct) is { } nodeId)
        {
            await scheduler.BumpAsync(nodeId, ct);
        }

        await transaction.CommitAsync(ct);
    }
}
