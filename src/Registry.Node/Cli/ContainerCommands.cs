using System.CommandLine;
using System.Globalization;
using Registry.Node.Runtime;

namespace Registry.Node.Cli;

/// <summary>
/// <c>ps</c>, <c>logs</c>, <c>stop</c>, <c>start</c>, <c>rm</c> and <c>exec</c>, like docker's. State comes
/// from the containers' directories (see <see cref="ContainerStore"/>); no daemon is involved.
/// </summary>
internal sealed class ContainerCommands(Option<string> rootOption)
{
    // exec's options that take a value: needed to find CONTAINER, after which every token is the command's.
    private static readonly HashSet<string> ExecValueOptions = new(StringComparer.Ordinal)
    {
        "--root", "-e", "--env", "-w", "--workdir", "-u", "--user",
    };

    /// <summary>
    /// For <c>exec</c>: the parser gets the options and CONTAINER, the rest is the command (so
    /// <c>exec c sh -c 'echo $$'</c> keeps its <c>-c</c>). Other commands: (args, []).
    /// </summary>
    public static (string[] Parse, string[] Command) SplitAtContainer(string[] args)
    {
        var seenExec = false;
        for (var i = 0; i < args.Length; i++)
        {
            var token = args[i];
            if (token.StartsWith('-'))
            {
                if (ExecValueOptions.Contains(token))
                {
                    i++;
                }

                continue;
            }

            if (!seenExec)
            {
                if (token != "exec")
                {
                    return (args, []);
                }

                seenExec = true;
                continue;
            }

            return (args[..(i + 1)], args[(i + 1)..]);
        }

        return (args, []);
    }

    public Command Ps()
    {
        var all = new Option<bool>("--all", "-a") { Description = "Show all containers (default shows just running)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only display container ids" };
        var command = new Command("ps", "List containers") { all, quiet };
        command.SetAction((parsed, ct) => NodeCli.GuardAsync(async () =>
        {
            var containers = (await Lifecycle(parsed).ListAsync(ct).ConfigureAwait(false))
                .Where(c => parsed.GetValue(all) || c.State.Status is ContainerStatus.Running or ContainerStatus.Restarting)
                .ToList();
            var output = parsed.GetValue(quiet)
                ? string.Concat(containers.OrderByDescending(c => c.Config.Created).Select(c => c.Id[..12] + "\n"))
                : ContainerTable.Format(containers, DateTimeOffset.UtcNow);
            await Console.Out.WriteAsync(output).ConfigureAwait(false);
            return NodeCli.Ok;
        }));
        return command;
    }

    public Command Logs()
    {
        var follow = new Option<bool>("--follow", "-f") { Description = "Follow log output until the container exits" };
        var timestamps = new Option<bool>("--timestamps", "-t") { Description = "Show timestamps" };
        var container = new Argument<string>("CONTAINER");
        var command = new Command("logs", "Fetch the logs of a container") { follow, timestamps, container };
        command.SetAction((parsed, ct) => NodeCli.GuardAsync(async () =>
        {
            var lifecycle = Lifecycle(parsed);
            var id = lifecycle.Find(parsed.GetValue(container)!);
            await WriteLogsAsync(lifecycle, id, parsed.GetValue(follow), parsed.GetValue(timestamps), ct).ConfigureAwait(false);
            return NodeCli.Ok;
        }));
        return command;
    }

    public Command Stop()
    {
        var time = new Option<int>("--time", "-t") { Description = "Seconds to wait before killing the container", DefaultValueFactory = _ => 10 };
        var containers = new Argument<string[]>("CONTAINER") { Arity = ArgumentArity.OneOrMore };
        var command = new Command("stop", "Stop running containers: SIGTERM, then SIGKILL after the grace period") { time, containers };
        command.SetAction((parsed, ct) => EachAsync(parsed, containers, (lifecycle, id) =>
            lifecycle.StopAsync(id, TimeSpan.FromSeconds(Math.Max(0, parsed.GetValue(time))), ct)));
        return command;
    }

    public Command Start()
    {
        var containers = new Argument<string[]>("CONTAINER") { Arity = ArgumentArity.OneOrMore };
        var command = new Command("start", "Start stopped containers again (detached)") { containers };
        command.SetAction((parsed, ct) => EachAsync(parsed, containers, async (lifecycle, id) =>
        {
            var exit = await lifecycle.StartAsync(id, ct).ConfigureAwait(false);
            if (!exit.Detached)
            {
                throw new InvalidOperationException($"failed to start container {id[..12]}: {exit.Error}");
            }
        }));
        return command;
    }

    public Command Rm()
    {
        var force = new Option<bool>("--force", "-f") { Description = "Kill and remove a running container" };
        var containers = new Argument<string[]>("CONTAINER") { Arity = ArgumentArity.OneOrMore };
        var command = new Command("rm", "Remove containers") { force, containers };
        command.SetAction((parsed, ct) => EachAsync(parsed, containers, (lifecycle, id) => lifecycle.RemoveAsync(id, parsed.GetValue(force), ct)));
        return command;
    }

    public Command Exec(string[] execCommand)
    {
        var env = new Option<string[]>("--env", "-e") { Description = "Set an environment variable (K=V)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var workdir = new Option<string?>("--workdir", "-w") { Description = "Working directory inside the container" };
        var user = new Option<string?>("--user", "-u") { Description = "name|uid[:group|gid]" };
        var container = new Argument<string>("CONTAINER");
        var command = new Command("exec", "Run a command in a running container") { env, workdir, user, container };
        command.SetAction(async (parsed, ct) =>
        {
            try
            {
                var lifecycle = Lifecycle(parsed);
                var id = lifecycle.Find(parsed.GetValue(container)!);
                var request = new ExecRequest(execCommand, parsed.GetValue(env) ?? [], parsed.GetValue(workdir), parsed.GetValue(user));
                return await lifecycle.ExecAsync(id, request, ct).ConfigureAwait(false);
            }
            catch (Exception e) when (e is ContainerConfigException or Files.NodeRootException)
            {
                await Console.Error.WriteLineAsync($"registry-node: {e.Message}").ConfigureAwait(false);
                return NodeCli.UsageError;
            }
            catch (Exception e) when (e is ContainerNotFoundException or ContainerStateConflictException)
            {
                await Console.Error.WriteLineAsync(NodeCli.Describe(e)).ConfigureAwait(false);
                return NodeCli.Failed;
            }
        });
        return command;
    }

    /// <summary><c>inspect</c> of a container, when <paramref name="reference"/> names one: docker looks for containers first.</summary>
    internal static async Task<string?> TryInspectAsync(string root, string reference, CancellationToken cancellationToken)
    {
        var lifecycle = Lifecycle(root);
        string id;
        try
        {
            id = lifecycle.Find(reference);
        }
        catch (ContainerNotFoundException)
        {
            return null;
        }

        return ContainerTable.ToJson(await lifecycle.InspectAsync(id, cancellationToken).ConfigureAwait(false));
    }

    private static async Task WriteLogsAsync(ContainerLifecycle lifecycle, string id, bool follow, bool timestamps, CancellationToken cancellationToken)
    {
        var view = await lifecycle.InspectAsync(id, cancellationToken).ConfigureAwait(false);
        using var stdout = Console.OpenStandardOutput();
        using var stderr = Console.OpenStandardError();
        Func<CancellationToken, ValueTask<long?>>? end = follow
            ? async ct => await HasEndedAsync(lifecycle, id, ct).ConfigureAwait(false) ? long.MaxValue : null
            : null;
        await ContainerLog.ReadAsync(view.Paths.LogFile, end, async (line, ct) =>
        {
            var text = timestamps
                ? line.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'00Z '", CultureInfo.InvariantCulture) + line.Log
                : line.Log;
            var target = line.Stream == "stderr" ? stderr : stdout;
            await target.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text), ct).ConfigureAwait(false);
            await target.FlushAsync(ct).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>True once the container no longer runs, or is gone (run -d --rm removes it as it ends).</summary>
    private static async ValueTask<bool> HasEndedAsync(ContainerLifecycle lifecycle, string id, CancellationToken cancellationToken)
    {
        try
        {
            return (await lifecycle.InspectAsync(id, cancellationToken).ConfigureAwait(false)).State.Status
                is not (ContainerStatus.Running or ContainerStatus.Restarting or ContainerStatus.Created);
        }
        catch (IOException)
        {
            return true;
        }
    }

    /// <summary>Runs <paramref name="action"/> for each container named, printing each name as docker does; exit code 1 if any failed.</summary>
    private Task<int> EachAsync(ParseResult parsed, Argument<string[]> containers, Func<ContainerLifecycle, string, Task> action) =>
        NodeCli.GuardAsync(async () =>
        {
            var lifecycle = Lifecycle(parsed);
            var result = NodeCli.Ok;
            foreach (var reference in parsed.GetValue(containers)!)
            {
                try
                {
                    await action(lifecycle, lifecycle.Find(reference)).ConfigureAwait(false);
                    await Console.Out.WriteLineAsync(reference).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    await Console.Error.WriteLineAsync(NodeCli.Describe(e)).ConfigureAwait(false);
                    result = NodeCli.Failed;
                }
            }

            return result;
        });

    private ContainerLifecycle Lifecycle(ParseResult parsed) => Lifecycle(parsed.GetValue(rootOption)!);

    private static ContainerLifecycle Lifecycle(string root)
    {
        var stores = new NodeStores(root);
        return new ContainerLifecycle(new ContainerStore(stores.Root));
    }
}
