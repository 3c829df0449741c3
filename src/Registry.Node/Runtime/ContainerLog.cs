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

    private readonly FileStream _file;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();

    public ContainerLog(string path, TimeProvider time)
    {
        _file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
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
