using System.Diagnostics;
using System.IO.Pipes;
using System.Runtime.InteropServices;

namespace Registry.Node.Runtime.Networking;

/// <summary>
/// The published ports of one container: <c>rn-init --forward</c>, which listens on the host's
/// 127.0.0.1 and connects, per connection, to the container's address inside the bridge
/// namespace (native/rn-net.c says how). It runs as long as its stdin stays open: disposing
/// this closes it. A port that is taken fails <see cref="StartAsync"/> before the container starts.
/// A detached container's supervisor holds that stdin instead (<see cref="InheritableStdin"/>), so
/// the forwarder ends with the supervisor, however it ends.
/// </summary>
public sealed class PortForwarder : IAsyncDisposable
{
    private static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private readonly Process _process;

    private PortForwarder(Process process) => _process = process;

    public int Pid => _process.Id;

    /// <summary>
    /// The descriptor of the write end of the forwarder's stdin, made inheritable so that the next
    /// process started (the supervisor, <c>rn-init --supervise --hold-fd FD</c>) holds it too.
    /// Start no other process before that one, then <see cref="DisposeAsync"/> would stop the
    /// forwarder: call <see cref="Release"/> instead.
    /// </summary>
    public int InheritableStdin()
    {
        var handle = ((PipeStream)_process.StandardInput.BaseStream).SafePipeHandle;
        var fd = (int)handle.DangerousGetHandle();
        if (RuntimeSyscalls.fcntl(fd, RuntimeSyscalls.F_SETFD, 0) != 0)
        {
            throw new InvalidOperationException($"fcntl F_SETFD on the forwarder's stdin failed: errno {Marshal.GetLastPInvokeError()}");
        }

        return fd;
    }

    /// <summary>Closes this process's copy of the forwarder's stdin and forgets it: whoever else holds it now owns the forwarder.</summary>
    public void Release()
    {
        _process.StandardInput.Close();
        _process.Dispose();
    }

    /// <exception cref="ContainerConfigException">A port is in use (docker's "port is already allocated"), or the namespace is unusable.</exception>
    public static async Task<PortForwarder> StartAsync(string namespacePath, string containerAddress, IReadOnlyList<PortMapping> ports, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ports);
        using var status = new AnonymousPipeServerStream(PipeDirection.In, HandleInheritability.Inheritable);
        var start = new ProcessStartInfo(ContainerRunner.InitPath)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--forward");
        start.ArgumentList.Add(namespacePath);
        start.ArgumentList.Add(status.GetClientHandleAsString());
        foreach (var port in ports)
        {
            start.ArgumentList.Add(FormattableString.Invariant($"{port.HostPort}={containerAddress}:{port.ContainerPort}"));
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("rn-init --forward did not start");
        status.DisposeLocalCopyOfClientHandle();
        string? line;
        using (var reader = new StreamReader(status))
        {
            line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
        }

        if (line == "listening")
        {
            return new PortForwarder(process);
        }

        await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        process.Dispose();
        var message = line is not null && line.StartsWith("error ", StringComparison.Ordinal) && line.IndexOf(' ', 6) is var space and > 0
            ? line[(space + 1)..]
            : "the port forwarder ended without saying why";
        throw new ContainerConfigException($"driver failed programming external connectivity: {message}");
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            _process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(StopTimeout);
            await _process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
        }
        finally
        {
            _process.Dispose();
        }
    }
}
