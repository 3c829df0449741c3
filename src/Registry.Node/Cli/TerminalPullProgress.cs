using Registry.Core;
using Registry.Node.Content;
using Spectre.Console;

namespace Registry.Node.Cli;

/// <summary>A progress bar per layer on a terminal, as docker pull draws them.</summary>
internal sealed class TerminalPullProgress : IPullProgress
{
    private readonly ProgressContext _context;
    private readonly Lock _lock = new();
    private readonly Dictionary<Digest, ProgressTask> _tasks = [];

    private TerminalPullProgress(ProgressContext context)
    {
        _context = context;
    }

    /// <summary>Runs <paramref name="pull"/> with bars drawn on <paramref name="console"/> until it ends.</summary>
    public static Task<T> RunAsync<T>(IAnsiConsole console, Func<IPullProgress, Task<T>> pull) =>
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn())
            .StartAsync(context => pull(new TerminalPullProgress(context)));

    public void Report(BlobProgress progress)
    {
        ArgumentNullException.ThrowIfNull(progress);
        // Downloads report from several threads; one task per blob, created on its first report.
        lock (_lock)
        {
            if (!_tasks.TryGetValue(progress.Digest, out var task))
            {
                task = _context.AddTask(progress.ShortId, maxValue: Math.Max(progress.Total, 1));
                _tasks[progress.Digest] = task;
            }

            var state = progress.State switch
            {
                BlobState.Waiting => "Waiting",
                BlobState.Downloading => "Downloading",
                BlobState.AlreadyExists => "Already exists",
                BlobState.Downloaded => "Download complete",
                BlobState.Extracting => "Extracting",
                BlobState.Complete => "Pull complete",
                BlobState.Failed => "Failed",
                _ => progress.State.ToString(),
            };
            task.Description = Markup.Escape($"{progress.ShortId}: {state}");
            task.Value = progress.State is BlobState.AlreadyExists or BlobState.Downloaded or BlobState.Extracting or BlobState.Complete ? task.MaxValue : progress.Done;
            if (progress.State is BlobState.AlreadyExists or BlobState.Complete or BlobState.Failed)
            {
                task.StopTask();
            }
        }
    }
}
