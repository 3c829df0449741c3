using System.Text;
using System.Text.Json;

namespace Registry.Node.Runtime;

/// <summary>
/// Appends a container's output to <c>container.log</c> as docker's json-file driver does:
/// one <c>{"log":"…\n","stream":"stdout","time":"…"}</c> object per line, with the time the
/// line's last bytes arrived. A line longer than 16 KiB is split, as docker splits it.
/// </summary>
internal sealed class ContainerLog : IDisposable
{
    private const int MaxLine = 16 * 1024;

    private static readonly TimeSpan FollowPoll = TimeSpan.FromMilliseconds(50);

    private readonly FileStream _file;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();

    public ContainerLog(string path, TimeProvider time)
    {
        _file = new FileStream(path, Files.NodeFiles.Private(FileMode.Append, FileAccess.Write, FileShare.Read));
        _time = time;
    }

    /// <summary>A line splitter for one stream; feed it chunks, then <see cref="LineBuffer.Flush"/> at EOF.</summary>
    public LineBuffer For(string stream) => new(this, stream);

    public void Dispose() => _file.Dispose();

    private void Write(string stream, string text)
    {
        var line = JsonSerializer.SerializeToUtf8Bytes(new LogLine(text, stream, _time.GetUtcNow()), LogLineJson.Default.LogLine);
        lock (_lock)
        {
            _file.Write(line);
            _file.WriteByte((byte)'\n');
        }
    }

    /// <summary>
    /// Reads the log at <paramref name="path"/> from the start and hands each whole line to
    /// <paramref name="onLine"/>. Without <paramref name="end"/> it reads what is there. With it, it
    /// follows the file: before each read it asks <paramref name="end"/>, which answers null while
    /// the writer goes on, or the length at which to stop (<see cref="long.MaxValue"/>: whatever is
    /// there). A line cut short by a crash is skipped.
    /// </summary>
    public static async Task ReadAsync(
        string path, Func<CancellationToken, ValueTask<long?>>? end, Func<LogLine, CancellationToken, ValueTask> onLine, CancellationToken cancellationToken)
    {
        if (!File.Exists(path))
        {
            return;
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        var pending = new MemoryStream();
        var buffer = new byte[64 * 1024];
        while (true)
        {
            var stopAt = end is null ? long.MaxValue : await end(cancellationToken).ConfigureAwait(false);
            int read;
            while ((read = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, (stopAt ?? long.MaxValue) - file.Position)), cancellationToken).ConfigureAwait(false)) > 0)
            {
                foreach (var line in WholeLines(buffer.AsSpan(0, read), pending))
                {
                    if (Parse(line) is { } parsed)
                    {
                        await onLine(parsed, cancellationToken).ConfigureAwait(false);
                    }
                }
            }

            if (stopAt is not null)
            {
                return;
            }

            await Task.Delay(FollowPoll, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The lines <paramref name="chunk"/> completes; the rest waits in <paramref name="pending"/>
    /// (the writer may be in the middle of the last line).</summary>
    private static List<byte[]> WholeLines(ReadOnlySpan<byte> chunk, MemoryStream pending)
    {
        var lines = new List<byte[]>();
        int newline;
        while ((newline = chunk.IndexOf((byte)'\n')) >= 0)
        {
            pending.Write(chunk[..newline]);
            lines.Add(pending.ToArray());
            pending.SetLength(0);
            chunk = chunk[(newline + 1)..];
        }

        pending.Write(chunk);
        return lines;
    }

    private static LogLine? Parse(byte[] json)
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

    internal sealed class LineBuffer(ContainerLog log, string stream)
    {
        private readonly byte[] _pending = new byte[MaxLine];
        private int _length;

        public void Append(ReadOnlySpan<byte> chunk)
        {
            while (chunk.Length > 0)
            {
                var newline = chunk.IndexOf((byte)'\n');
                var take = Math.Min(newline < 0 ? chunk.Length : newline + 1, MaxLine - _length);
                chunk[..take].CopyTo(_pending.AsSpan(_length));
                _length += take;
                chunk = chunk[take..];
                if (_length == MaxLine || _pending[_length - 1] == (byte)'\n')
                {
                    Flush();
                }
            }
        }

        public void Flush()
        {
            if (_length > 0)
            {
                log.Write(stream, Encoding.UTF8.GetString(_pending, 0, _length));
                _length = 0;
            }
        }
    }
}
