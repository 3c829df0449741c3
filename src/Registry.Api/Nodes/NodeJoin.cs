using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Api.Identity;
using Registry.Api.Rest;
using Registry.Storage.Metadata;
using Registry.Storage.Nodes;

namespace Registry.Api.Nodes;

/// <summary>A node that just joined, with the credential it will authenticate with (shown once, stored hashed).</summary>
public sealed record JoinedNode(NodeEntity Node, string Credential, long JoinTokenId);

/// <summary>
/// A machine joining with a join token: the body is checked, then the token, then the node's clock; the token's use
/// is taken in the same transaction that creates the node, so two nodes racing for the last use cannot both join,
/// and a join refused for its name uses nothing.
/// </summary>
public sealed class NodeJoin(RegistryDbContext db, IOptions<NodeOptions> options, TimeProvider time)
{
    public const string JoinTokenInvalid = "JOIN_TOKEN_INVALID";
    public const int MaxAgentVersionLength = 128;

    public async Task<JoinedNode> JoinAsync(JoinBody body, CancellationToken ct)
    {
        NodeRules.CheckName(body.Name);
        var name = body.Name!;
        var labels = NodeRules.CheckLabels(body.Labels);
        var capacity = CheckCapacity(body.Capacity);
        var agentVersion = CheckAgentVersion(body.AgentVersion);
        var token = await FindTokenAsync(body.Token, ct);

        var now = time.GetUtcNow().UtcDateTime;
        var skew = SkewSeconds(body.Time, now);
        var maxSkew = options.Value.MaxClockSkew;
        if (Math.Abs(skew) > maxSkew.TotalSeconds)
        {
            throw new ApiException(StatusCodes.Status400BadRequest, "CLOCK_SKEW", FormattableString.Invariant(
                $"the node's clock is {Math.Abs(skew):0.#} s {(skew > 0 ? "ahead of" : "behind")} the registry's ({now:yyyy-MM-dd'T'HH:mm:ss'Z'}); at most {maxSkew.TotalSeconds:0.#} s is allowed: set the node's time (NTP) and join again"));
        }

        if (await db.Nodes.AnyAsync(n => n.Name == name, ct))
        {
            throw IdentityException.Conflict($"a node named {name} has joined already; remove it first or choose another name");
        }

        var (secret, lookup, hash) = Secrets.Create(Secrets.NodeCredentialPrefix);
        var node = new NodeEntity
        {
            Name = name,
            LookupId = lookup,
            CredentialHash = hash,
            Labels = System.Text.Json.JsonSerializer.Serialize(labels),
            Cpus = capacity.Cpus ?? 0,
            MemoryBytes = capacity.MemoryBytes ?? 0,
            DiskFreeBytes = capacity.DiskFreeBytes ?? 0,
            AgentVersion = agentVersion,
            JoinedAt = now,
            LastSeenAt = now,
            ClockSkewSeconds = Math.Round(skew, 3),
            Generation = 1,
        };

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var taken = await db.NodeJoinTokens.Where(t => t.Id == token.Id && t.Used < t.Uses && t.ExpiresAt > now)
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.Used, t => t.Used + 1), ct);
        if (taken == 0)
        {
            throw Invalid("the join token has been used");
        }

        db.Nodes.Add(node);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Another node took the name between the look above and now; the token's use is rolled back with it.
            throw IdentityException.Conflict($"a node named {name} has joined already; remove it first or choose another name");
        }
        finally
        {
            db.ChangeTracker.Clear();
        }

        await transaction.CommitAsync(ct);
        return new JoinedNode(node, secret, token.Id);
    }

    /// <summary>The node's clock minus the registry's, in seconds; 0 when the node did not say its time.</summary>
    public static double SkewSeconds(DateTimeOffset? nodeTime, DateTime now) =>
        nodeTime is { } t ? (t.UtcDateTime - now).TotalSeconds : 0;

    public static CapacityBody CheckCapacity(CapacityBody? capacity)
    {
        if (capacity is null)
        {
            return new CapacityBody(null, null, null);
        }

        if (capacity.Cpus is < 0 or > 100_000 || double.IsNaN(capacity.Cpus ?? 0) || capacity.MemoryBytes < 0 || capacity.DiskFreeBytes < 0)
        {
            throw IdentityException.Invalid("capacity: cpus, memoryBytes and diskFreeBytes must not be negative");
        }

        return capacity;
    }

    public static string? CheckAgentVersion(string? version) =>
        version is { Length: > MaxAgentVersionLength }
            ? throw IdentityException.Invalid($"agentVersion may be at most {MaxAgentVersionLength} characters")
            : version;

    private async Task<NodeJoinTokenEntity> FindTokenAsync(string? presented, CancellationToken ct)
    {
        if (presented is null || !Secrets.TryGetLookupId(presented, Secrets.JoinTokenPrefix, out var lookup))
        {
            throw Invalid("the join token is not known to this registry");
        }

        var token = await db.NodeJoinTokens.AsNoTracking().FirstOrDefaultAsync(t => t.LookupId == lookup, ct);
        if (token is null || !Secrets.Matches(presented, token.SecretHash))
        {
            throw Invalid("the join token is not known to this registry");
        }

        if (token.ExpiresAt <= time.GetUtcNow().UtcDateTime)
        {
            throw Invalid($"the join token expired at {token.ExpiresAt:yyyy-MM-dd'T'HH:mm:ss'Z'}");
        }

        if (token.Used >= token.Uses)
        {
            throw Invalid("the join token has been used");
        }

        return token;
    }

    private static ApiException Invalid(string message) => new(StatusCodes.Status401Unauthorized, JoinTokenInvalid, message);
}
