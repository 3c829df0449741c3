namespace Registry.Node.Agent;

/// <summary>
/// Repeats a call to the registry until it succeeds, with exponential back-off from
/// <see cref="FirstDelay"/> up to <see cref="MaxDelay"/>: while the registry is away the agent keeps
/// its containers running and keeps asking. A 401 on a node route (<see cref="NodeCredentialRejectedException"/>)
/// and cancellation are not retried. The agent's loops share one instance, so that the registry
/// going away and coming back is logged once, not once per loop.
/// </summary>
internal sealed class ServerRetry(AgentLog log, TimeProvider time)
{
    public static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);

    private int _failing;

    public async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        var delay = FirstDelay;
        while (true)
        {
            try
            {
                var result = await call(cancellationToken).ConfigureAwait(false);
                if (Interlocked.Exchange(ref _failing, 0) == 1)
                {
                    log.Write("the registry answers again");
                }

                return result;
            }
            catch (Exception e) when (e is NodeServerException or NodeServerUnreachableException && !cancellationToken.IsCancellationRequested)
            {
                if (Interlocked.Exchange(ref _failing, 1) == 0)
                {
                    log.Write($"{e.Message}; retrying every {MaxDelay.TotalSeconds:0} s at most, containers keep running");
                }

                await Task.Delay(delay, time, cancellationToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
    }
}

/// <summary>The agent's own log on stderr: one line per action, never a credential or a token.</summary>
internal sealed class AgentLog(TextWriter output, TimeProvider time)
{
    private readonly Lock _lock = new();

    public void Write(string message)
    {
        var line = $"{time.GetUtcNow():yyyy-MM-dd'T'HH:mm:ss'Z'} registry-node agent: {message.ReplaceLineEndings(" ")}";
        lock (_lock)
        {
            output.WriteLine(line);
            output.Flush();
        }
    }
}
