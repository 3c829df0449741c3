using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Registry.Storage.Hosting;

/// <summary>
/// A background service that does one chore at start-up and then every <see cref="Interval"/>, on the registry's
/// clock. A round that fails is logged and the next one runs as planned: every replica runs its chores, and each
/// round only removes what is due, so a missed or doubled round changes nothing.
/// </summary>
public abstract partial class PeriodicChore(TimeProvider time, ILogger logger) : BackgroundService
{
    protected TimeProvider Time { get; } = time;

    protected ILogger Logger { get; } = logger;

    protected abstract TimeSpan Interval { get; }

    /// <summary>
    /// The clock the rounds are timed by: the registry's, unless a chore polls often (every few seconds) and so
    /// keeps to real time: a test clock moved on by days would otherwise fire it once per interval in between.
    /// </summary>
    protected virtual TimeProvider Cadence => Time;

    /// <summary>One round of the chore.</summary>
    protected abstract Task RunOnceAsync(CancellationToken ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, Cadence);
        do
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogRoundFailed(Logger, GetType().Name, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A round of {Chore} failed; the next one runs as planned")]
    private static partial void LogRoundFailed(ILogger logger, string chore, Exception exception);
}
