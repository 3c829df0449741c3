using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Registry.Api.Tests.Infrastructure;

/// <summary>
/// One HTTP/1.1 connection to 127.0.0.1 written by hand, for what HttpClient will not do: cut a body
/// short, or reuse exactly this connection for the next request.
/// </summary>
internal sealed class RawHttpConnection : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationToken _ct;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _buffered;

    private RawHttpConnection(CancellationToken ct) => _ct = ct;

    public static async Task<RawHttpConnection> OpenAsync(int port, CancellationToken ct)
    {
        var connection = new RawHttpConnection(ct);
        await connection._socket.ConnectAsync(IPAddress.Loopback, port, ct);
        return connection;
    }

    public async Task SendAsync(string head, byte[]? body = null)
    {
        await _socket.SendAsync(Encoding.ASCII.GetBytes(head), SocketFlags.None, _ct);
        if (body is { Length: > 0 })
        {
            await _socket.SendAsync(body, SocketFlags.None, _ct);
        }
    }

    /// <summary>Reads one response with a Content-Length body; null when the server closed the connection instead.</summary>
    public async Task<(int Status, Dictionary<string, string> Headers)?> ReadResponseAsync()
    {
        int end;
        while ((end = IndexOfHeaderEnd()) < 0)
        {
            if (!await FillAsync())
            {
                return null;
            }
        }

        var lines = Encoding.ASCII.GetString(_buffer, 0, end).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim(), StringComparer.OrdinalIgnoreCase);
        var length = headers.TryGetValue("Content-Length", out var value) ? int.Parse(value, CultureInfo.InvariantCulture) : 0;
        var total = end + 4 + length;
        while (_buffered < total)
        {
            if (!await FillAsync())
            {
                return null;
            }
        }

        Buffer.BlockCopy(_buffer, total, _buffer, 0, _buffered - total);
        _buffered -= total;
        return (status, headers);
    }

    public void Close()
    {
        _socket.Shutdown(SocketShutdown.Both);
        _socket.Close();
    }

    public void Dispose() => _socket.Dispose();

    private async Task<bool> FillAsync()
    {
        try
        {
            var read = await _socket.ReceiveAsync(_buffer.AsMemory(_buffered), SocketFlags.None, _ct);
            _buffered += read;
            return read > 0;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private int IndexOfHeaderEnd() => _buffer.AsSpan(0, _buffered).IndexOf("\r\n\r\n"u8);
}
