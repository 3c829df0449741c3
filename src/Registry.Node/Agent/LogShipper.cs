using System.Text.Json;
using Registry.Node.Runtime;

namespace Registry.Node.Agent;

/// <summary>
/// Ships the managed containers' output to the registry. Each container's <c>container.log</c>
/// (docker's json-file lines, <see cref="LogLine"/>) is the spool: lines are read from the offset the
/// registry last acknowledged, kept in <c>agent/logs.json</c>, sent with the byte offset of each, and
/// the offset moves only when the registry acknowledges them. Nothing is held in memory, so a restart
/// of either side loses no line, and the registry stores a line sent twice once.
/// </summary>
internal sealed class LogShipper
{
    public const int MaxLines = 1000;
    public const int MaxBytes = 1024 * 1024;

    private readonly AgentFiles _files;
    private readonly ContainerStore _containers;
    private readonly Dictionary<string, ShippedLogOffset> _offsets;

    public LogShipper(AgentFiles files, string nodeRoot)
    {
        _files = files;
        _containers = new ContainerStore(nodeRoot);
        _offsets = (AgentFiles.Read(files.LogsFile, AgentFilesJson.Default.ShippedLogsFile)?.Containers ?? [])
            .ToDictionary(o => o.Id, StringComparer.Ordinal);
    }

    /// <summary>The acknowledged offset of a container's log (0 when nothing was, or for another placement).</summary>
    public long OffsetOf(string id, long placement) =>
        _offsets.TryGetValue(id, out var offset) && offset.Placement == placement ? offset.Offset : 0;

    /// <summary>
    /// Sends each container's next batch (at most <see cref="MaxLines"/> lines, <see cref="MaxBytes"/>
    /// bytes) and records what was acknowledged. True when a container has more to send at once.
    /// </summary>
    public async Task<bool> ShipAsync(
        IReadOnlyList<ManagedContainer> containers, Func<LogsRequest, CancellationToken, Task<LogsAnswer>> send, CancellationToken cancellationToken)
    {
        var more = false;
        foreach (var container in containers.Where(c => c.Created))
        {
            var from = OffsetOf(container.Id, container.Placement);
            var batch = ReadBatch(_containers.PathsOf(container.Id).LogFile, from);
            if (batch.Lines.Count == 0)
            {
                if (batch.End > from)
                {
                    Record(container, batch.End); // only lines a crash cut short: nothing to send
                }

                continue;
            }

            var answer = await send(new LogsRequest([new ContainerLogBatch(container.Id, container.Placement, [.. batch.Lines.Select(l => l.Line)])]), cancellationToken).ConfigureAwait(false);
            var acked = answer.Containers.FirstOrDefault(a => a.Id == container.Id && a.Placement == container.Placement)?.Acked;
            var index = acked is { } offset ? batch.Lines.FindIndex(l => l.Line.Offset == offset) : -1;
            if (index >= 0)
            {
                Record(container, batch.Lines[index].Next);
                more |= batch.Full && index == batch.Lines.Count - 1;
            }
        }

        Forget(containers);
        return more;
    }

    private void Record(ManagedContainer container, long offset)
    {
        _offsets[container.Id] = new ShippedLogOffset(container.Id, container.Placement, offset);
        Save();
    }

    /// <summary>Offsets of containers no longer managed go: their logs went with them.</summary>
    private void Forget(IReadOnlyList<ManagedContainer> containers)
    {
        var managed = containers.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        var gone = _offsets.Keys.Where(id => !managed.Contains(id)).ToList();
        foreach (var id in gone)
        {
            _offsets.Remove(id);
        }

        if (gone.Count > 0)
        {
            Save();
        }
    }

    private void Save() =>
        _files.Write(_files.LogsFile, new ShippedLogsFile([.. _offsets.Values.OrderBy(o => o.Id, StringComparer.Ordinal)]), AgentFilesJson.Default.ShippedLogsFile);

    /// <summary>
    /// The whole lines from <paramref name="from"/> on, within the limits. A line cut short at the end
    /// waits for its writer; a line that is not JSON (a crash mid-write, long ago) is skipped.
    /// </summary>
    internal static Batch ReadBatch(string path, long from)
    {
        var lines = new List<BatchLine>();
        if (!File.Exists(path))
        {
            return new Batch([], from, false);
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        if (file.Length <= from)
        {
            return new Batch([], from, false);
        }

        file.Seek(from, SeekOrigin.Begin);
        var buffer = new byte[(int)Math.Min(MaxBytes, file.Length - from)];
        var filled = 0;
        int read;
        while (filled < buffer.Length && (read = file.Read(buffer, filled, buffer.Length - filled)) > 0)
        {
            filled += read;
        }

        var position = 0;
        var full = false;
        while (position < filled)
        {
            var newline = Array.IndexOf(buffer, (byte)'\n', position, filled - position);
            if (newline < 0)
            {
                full = filled == MaxBytes;
                break;
            }

            if (lines.Count == MaxLines)
            {
                full = true;
                break;
            }

            var lineOffset = from + position;
            var json = buffer.AsSpan(position, newline - position);
            position = newline + 1;
            if (Parse(json) is { } line)
            {
                var text = line.Log.EndsWith('\n') ? line.Log[..^1] : line.Log;
                lines.Add(new BatchLine(new ShippedLogLine(lineOffset, line.Stream, line.Time, text), from + position));
            }
        }

        return new Batch(lines, from + position, full);
    }

    private static LogLine? Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, LogLineJson.Default.LogLine);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <param name="Next">The offset just past the line: where to read on once it is acknowledged.</param>
    internal sealed record BatchLine(ShippedLogLine Line, long Next);

    /// <param name="End">Just past the last whole line read.</param>
    /// <param name="Full">The batch stopped at a limit: more lines may follow at once.</param>
    internal sealed record Batch(List<BatchLine> Lines, long End, bool Full);
}
