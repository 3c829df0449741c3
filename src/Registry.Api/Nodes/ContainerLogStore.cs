using System.Text;
using Microsoft.EntityFrameworkCore;
using Registry.Api.Identity;
using Registry.Storage.Metadata;
using Registry.Storage.Nodes;

namespace Registry.Api.Nodes;

/// <summary>One stored log line, as it is read back.</summary>
public sealed record StoredLogLine(int Placement, long Offset, string Stream, DateTime Time, string Text);

/// <summary>
/// Containers' output: appended by their nodes, idempotently (a line is stored once per container, placement and
/// offset, so a batch sent again after a lost answer stores nothing twice), and read by their users.
/// </summary>
public sealed class ContainerLogStore(RegistryDbContext db, TimeProvider time)
{
    public const int MaxLinesPerRequest = 1000;
    public const int MaxBytesPerRequest = 1 << 20;
    private const int RowsPerInsert = 100;

    public async Task<LogsAnswer> AppendAsync(NodeIdentity node, LogsBody body, CancellationToken ct)
    {
        var batches = body.Containers ?? [];
        var lines = batches.Sum(b => b.Lines?.Count ?? 0);
        var bytes = batches.Sum(b => b.Lines?.Sum(l => Encoding.UTF8.GetByteCount(l.Text ?? string.Empty)) ?? 0);
        if (lines > MaxLinesPerRequest || bytes > MaxBytesPerRequest)
        {
            throw IdentityException.Invalid($"at most {MaxLinesPerRequest} lines and 1 MiB of text per request");
        }

        foreach (var batch in batches)
        {
            if (batch.Id is null || batch.Placement is null
                || batch.Lines?.Any(l => l.Offset is null or < 0 || l.Stream is not ("stdout" or "stderr") || l.Text is null) == true)
            {
                throw IdentityException.Invalid("each container needs id and placement, and each line offset (not negative), stream (stdout or stderr) and text");
            }
        }

        var acks = new List<LogAck>();
        foreach (var batch in batches)
        {
            var received = batch.Lines ?? [];
            var id = batch.Id!;
            var placement = batch.Placement!.Value;

            // Lines of a container no longer placed here with this placement are acknowledged and dropped: nobody reads them.
            if (received.Count > 0 && await db.NodeContainers.AnyAsync(c => c.Id == id && c.NodeId == node.Id && c.Placement == placement, ct))
            {
                foreach (var chunk in received.Chunk(RowsPerInsert))
                {
                    await InsertAsync(id, placement, chunk, ct);
                }
            }

            acks.Add(new LogAck(id, placement, received.Count == 0 ? null : received.Max(l => l.Offset!.Value)));
        }

        return new LogsAnswer(acks);
    }

    /// <summary>The container's lines in order, the last <paramref name="tail"/> of them, from <paramref name="since"/> on.</summary>
    public async Task<List<StoredLogLine>> ReadAsync(string container, int? tail, DateTime? since, CancellationToken ct)
    {
        var query = db.NodeContainerLogs.AsNoTracking().Where(l => l.ContainerId == container);
        if (since is { } from)
        {
            query = query.Where(l => l.Time >= from);
        }

        var ordered = tail is { } n
            ? query.OrderByDescending(l => l.Placement).ThenByDescending(l => l.Offset).Take(n)
            : query.OrderBy(l => l.Placement).ThenBy(l => l.Offset);
        var lines = await ordered.Select(l => new StoredLogLine(l.Placement, l.Offset, l.Stream, l.Time, l.Text)).ToListAsync(ct);
        if (tail is not null)
        {
            lines.Reverse();
        }

        return lines;
    }

    /// <summary>Lines after the given one (by placement, then offset), at most <paramref name="limit"/>.</summary>
    public Task<List<StoredLogLine>> ReadAfterAsync(string container, int placement, long offset, int limit, CancellationToken ct) =>
        db.NodeContainerLogs.AsNoTracking()
            .Where(l => l.ContainerId == container && (l.Placement > placement || (l.Placement == placement && l.Offset > offset)))
            .OrderBy(l => l.Placement).ThenBy(l => l.Offset).Take(limit)
            .Select(l => new StoredLogLine(l.Placement, l.Offset, l.Stream, l.Time, l.Text)).ToListAsync(ct);

    /// <summary>Where the container's stored lines end now: following from there shows only what comes next.</summary>
    public async Task<(int Placement, long Offset)> EndAsync(string container, CancellationToken ct)
    {
        var last = await db.NodeContainerLogs.AsNoTracking().Where(l => l.ContainerId == container)
            .OrderByDescending(l => l.Placement).ThenByDescending(l => l.Offset)
            .Select(l => new { l.Placement, l.Offset }).FirstOrDefaultAsync(ct);
        return last is null ? (0, -1L) : (last.Placement, last.Offset);
    }

    public Task<bool> ContainerExistsAsync(string container, CancellationToken ct) => db.NodeContainers.AnyAsync(c => c.Id == container, ct);

    private Task<int> InsertAsync(string container, int placement, LogLineBody[] lines, CancellationToken ct)
    {
        // One statement per chunk; ON CONFLICT reads the same on SQLite and PostgreSQL. PostgreSQL's text holds no NUL.
        var sql = new StringBuilder("INSERT INTO node_container_logs (container_id, placement, \"offset\", stream, \"time\", \"text\") VALUES ");
        var parameters = new List<object>(lines.Length * 6);
        for (var i = 0; i < lines.Length; i++)
        {
            var at = parameters.Count;
            sql.Append(i == 0 ? string.Empty : ", ")
                .Append(System.Globalization.CultureInfo.InvariantCulture, $"({{{at}}}, {{{at + 1}}}, {{{at + 2}}}, {{{at + 3}}}, {{{at + 4}}}, {{{at + 5}}})");
            var line = lines[i];
            parameters.AddRange([container, placement, line.Offset!.Value, line.Stream!, (line.Time?.UtcDateTime ?? time.GetUtcNow().UtcDateTime), line.Text!.Replace('\0', '\uFFFD')]);
        }

        sql.Append(" ON CONFLICT (container_id, placement, \"offset\") DO NOTHING");
        return db.Database.ExecuteSqlRawAsync(sql.ToString(), parameters, ct);
    }
}
