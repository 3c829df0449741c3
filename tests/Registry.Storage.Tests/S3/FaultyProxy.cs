using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Registry.Storage.Tests.S3;

/// <summary>What the proxy does with one incoming connection.</summary>
public abstract record Fault
{
    /// <summary>Passes the connection through untouched.</summary>
    public sealed record None : Fault;

    /// <summary>Answers its first request with 503 SlowDown, as a busy S3 does, and closes.</summary>
    public sealed record SlowDown : Fault;

    /// <summary>Passes it through but cuts the connection after the server has sent this many bytes (a reset mid-body).</summary>
    public sealed record CutAfter(long Bytes) : Fault;
}

/// <summary>
/// A TCP proxy on 127.0.0.1 in front of a real S3 server that injects failures into chosen connections, and counts
/// the bytes the server sends: transient errors provoked for real, on the wire, between the store and the server.
/// </summary>
public sealed class FaultyProxy : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Uri _target;
    private readonly Func<int, Fault> _plan;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private int _connections;
    private long _bytesFromServer;
    private int _faults;

    /// <param name="plan">The fault for the connection with this number (0, 1, 2… in the order they arrive).</param>
    public FaultyProxy(Uri target, Func<int, Fault> plan)
    {
        _target = target;
        _plan = plan;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public Uri Endpoint => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

    public long BytesFromServer => Interlocked.Read(ref _bytesFromServer);

    public int Faults => Volatile.Read(ref _faults);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stop.Token);
            var fault = _plan(Interlocked.Increment(ref _connections) - 1);
            _ = Task.Run(() => ServeAsync(client, fault));
        }
    }

    private async Task ServeAsync(TcpClient client, Fault fault)
    {
        client.LingerState = new LingerOption(true, 0); // closing resets, as a broken connection does
        using (client)
        {
            var downstream = client.GetStream();
            try
            {
                if (fault is Fault.SlowDown)
                {
                    Interlocked.Increment(ref _faults);
                    await ReadRequestHeadAsync(downstream);
                    var body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
                    var response = $"HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\nConnection: close\r\n\r\n{body}";
                    await downstream.WriteAsync(Encoding.UTF8.GetBytes(response), _stop.Token);
                    return;
                }

                using var server = new TcpClient();
                await server.ConnectAsync(_target.Host, _target.Port, _stop.Token);
                var upstream = server.GetStream();
                var limit = fault is Fault.CutAfter cut ? cut.Bytes : long.MaxValue;
                var toClient = PumpAsync(upstream, downstream, limit);
                var toServer = downstream.CopyToAsync(upstream, _stop.Token);

                // Either side ending (or the cut) closes both: disposing the clients resets the connection.
                await Task.WhenAny(toClient, toServer);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // A side hung up: the other goes with it.
            }
        }
    }

    /// <summary>Server to client, counted, until the limit (then the connection is reset).</summary>
    private async Task PumpAsync(Stream from, Stream to, long limit)
    {
        var buffer = new byte[64 * 1024];
        var sent = 0L;
        while (true)
        {
            var read = await from.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                return;
            }

            var allowed = (int)Math.Min(read, limit - sent);
            await to.WriteAsync(buffer.AsMemory(0, allowed), _stop.Token);
            Interlocked.Add(ref _bytesFromServer, allowed);
            sent += allowed;
            if (sent >= limit)
            {
                Interlocked.Increment(ref _faults);
                throw new IOException("cut"); // the caller's dispose then resets both connections
            }
        }
    }

    private async Task ReadRequestHeadAsync(Stream stream)
    {
        var seen = new StringBuilder();
        var buffer = new byte[4096];
        while (!seen.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                return;
            }

            seen.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }
    }
}
