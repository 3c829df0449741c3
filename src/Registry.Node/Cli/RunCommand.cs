using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using Registry.Node.Runtime;
using Registry.Node.Runtime.Cgroups;
using Registry.Node.Runtime.Networking;
using Registry.Node.Runtime.Security;
using Registry.Node.Runtime.Volumes;

namespace Registry.Node.Cli;

/// <summary>
/// <c>registry-node run [OPTIONS] IMAGE [COMMAND] [ARG...]</c>: a container in the foreground,
/// like <c>docker run</c>. It exits with the container's exit code; 125 when registry-node
/// itself fails, 126 when the command cannot be invoked, 127 when it is not found.
/// </summary>
internal sealed partial class RunCommand(Option<string> rootOption, Option<string?> usernsRemapOption)
{
    // Options that take a value: needed to find IMAGE, after which every token is the container's.
    private static readonly HashSet<string> ValueOptions = new(StringComparer.Ordinal)
    {
        "--root", "--name", "-e", "--env", "-w", "--workdir", "-u", "--user", "--entrypoint", "--hostname",
        "-m", "--memory", "--cpus", "--pids-limit", "--network", "--net", "--platform",
        "--restart",
        "-v", "--volume", "--tmpfs", "-p", "--publish", "--security-opt", "--cap-add", "--cap-drop", "--userns", "--userns-remap",
    };

    private readonly Option<bool> _remove = new("--rm") { Description = "Remove the container when it exits" };
    private readonly Option<string?> _name = new("--name") { Description = "Name of the container (also its default hostname)" };
    private readonly Option<string[]> _env = new("--env", "-e") { Description = "Set an environment variable (K=V, or K to pass this one's)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
    private readonly Option<string?> _workdir = new("--workdir", "-w") { Description = "Working directory inside the container" };
    private readonly Option<string?> _user = new("--user", "-u") { Description = "name|uid[:group|gid]" };
    private readonly Option<string?> _entrypoint = new("--entrypoint") { Description = "Overwrite the image's entrypoint" };
    private readonly Option<string?> _hostname = new("--hostname") { Description = "Container hostname (default: its name, else its short id)" };
    private readonly Option<string?> _memory = new("--memory", "-m") { Description = "Memory limit (e.g. 64m, 1g)" };
    private readonly Option<string?> _cpus = new("--cpus") { Description = "Number of CPUs (e.g. 0.5)" };
    private readonly Option<long?> _pidsLimit = new("--pids-limit") { Description = "Most processes and threads (-1 or 0: unlimited)" };
    private readonly Option<string> _network = new("--network", "--net") { Description = "bridge (default), none or host", DefaultValueFactory = _ => "bridge" };
    private readonly Option<string?> _platform = new("--platform") { Description = "Platform to pull if the image is not here" };
    private readonly Option<bool> _detach = new("--detach", "-d") { Description = "Run in the background and print the container id" };
    private readonly Option<string> _restart = new("--restart") { Description = "no, on-failure[:N] or always", DefaultValueFactory = _ => "no" };
    private readonly Option<string[]> _volumes = new("--volume", "-v") { Description = "Mount a named volume or a host path (NAME:/path[:ro], /host/path:/path[:ro])", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
    private readonly Option<string[]> _tmpfs = new("--tmpfs") { Description = "Mount a tmpfs (/path[:size=64m,mode=1777])", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
    private readonly Option<string[]> _securityOpt = new("--security-opt") { Description = "Security options: seccomp=unconfined, seccomp=PROFILE.json (docker's profile format), no-new-privileges[=true|false]", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
    private readonly Option<string[]> _capAdd = new("--cap-add") { Description = "Add a Linux capability (NAME, CAP_NAME or ALL)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
    private readonly Option<string[]> _capDrop = new("--cap-drop") { Description = "Drop a Linux capability (NAME, CAP_NAME or ALL)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
    private readonly Option<bool> _readOnly = new("--read-only") { Description = "Mount the container's root filesystem read-only" };
    private readonly Option<string?> _userns = new("--userns") { Description = "remap: a user namespace mapped as --userns-remap says (the default when it is set); host: the host's" };
    private readonly Option<string[]> _publish = new("--publish", "-p") { Description = "Publish a port on the host's 127.0.0.1 (HOSTPORT:CONTAINERPORT[/tcp]; bridge network)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };

    /// <summary>
    /// Splits <paramref name="args"/> at IMAGE when the command is <c>run</c>: the parser gets the
    /// options and IMAGE, the rest is the container's command (so <c>sh -c 'exit 3'</c> keeps its
    /// <c>-c</c>, as with docker).
    /// </summary>
    public static (string[] Parse, string[] Command) SplitAtImage(string[] args)
    {
        var seenRun = false;
        for (var i = 0; i < args.Length; i++)
        {
            var token = args[i];
            if (token == "--" && seenRun)
            {
                return i + 1 < args.Length ? ([.. args[..i], .. args[(i + 1)..(i + 2)]], args[(i + 2)..]) : (args, []);
            }

            if (token.StartsWith('-'))
            {
                if (ValueOptions.Contains(token))
                {
                    i++;
                }

                continue;
            }

            if (!seenRun)
            {
                if (token != "run")
                {
                    return (args, []);
                }

                seenRun = true;
                continue;
            }

            return (args[..(i + 1)], args[(i + 1)..]);
        }

        return (args, []);
    }

    public Command Create(string[] containerCommand)
    {
        var image = new Argument<string>("IMAGE") { Description = "The image to run; pulled if it is not here" };
        var command = new Command("run", "Run a command in a new container (foreground), like docker run")
        {
            _remove, _name, _env, _workdir, _user, _entrypoint, _hostname, _memory, _cpus, _pidsLimit, _network, _platform, _detach, _restart, _volumes, _tmpfs, _publish, _securityOpt, _capAdd, _capDrop, _readOnly, _userns, image,
        };
        command.SetAction((parsed, ct) => RunGuardedAsync(parsed, parsed.GetValue(image)!, containerCommand, ct));
        return command;
    }

    private async Task<int> RunGuardedAsync(ParseResult parsed, string image, string[] containerCommand, CancellationToken cancellationToken)
    {
        try
        {
            if (RuntimeSyscalls.geteuid() != 0)
            {
                throw new UsageException("run needs root: it creates namespaces, mounts and cgroups");
            }

            // First: the kernel's wait for the container's cgroup join then passes while the image is resolved.
            var cgroups = CgroupManager.ForHost();
            _ = cgroups.WarmUpMigration();
            var request = ToRequest(parsed, image, containerCommand);
            var stores = new NodeStores(parsed.GetValue(rootOption)!);
            var record = await FindOrPullAsync(stores, image, parsed.GetValue(_platform), cancellationToken).ConfigureAwait(false);
            var runner = new ContainerRunner(new ContainerStore(stores.Root), stores.Snapshots, stores.Content, () => cgroups)
            {
                Output = Console.OpenStandardOutput(),
                Error = Console.OpenStandardError(),
            };
            var exit = await runner.RunAsync(record, request, cancellationToken).ConfigureAwait(false);
            if (exit.Detached)
            {
                await Console.Out.WriteLineAsync(exit.Id).ConfigureAwait(false);
                return NodeCli.Ok;
            }

            if (exit.Error is not null)
            {
                await Console.Error.WriteLineAsync($"registry-node: failed to start container {exit.Id[..12]}: {exit.Error}").ConfigureAwait(false);
            }

            return exit.ExitCode;
        }
        catch (Exception e)
        {
            // Everything that goes wrong in registry-node itself, before the container's process runs, is docker's 125.
            var message = e switch
            {
                UsageException or ContainerConfigException or InvalidCgroupLimitsException or CgroupException or Files.NodeRootException => e.Message,
                _ => NodeCli.Describe(e),
            };
            await Console.Error.WriteLineAsync($"registry-node: {message.ReplaceLineEndings(" ").Trim()}").ConfigureAwait(false);
            return NodeCli.UsageError;
        }
    }

    private static async Task<Content.ImageRecord> FindOrPullAsync(NodeStores stores, string image, string? platform, CancellationToken cancellationToken)
    {
        try
        {
            return await ImageCommands.FindAsync(stores, image, cancellationToken).ConfigureAwait(false);
        }
        catch (LocalImageNotFoundException)
        {
            // As docker run: the pull's report goes to stderr, stdout is the container's alone.
            await Console.Error.WriteLineAsync($"Unable to find image '{image}' locally").ConfigureAwait(false);
            var pulled = await ImageCommands.PullAsync(stores, image, platform, Console.Error, cancellationToken).ConfigureAwait(false);
            if (pulled != NodeCli.Ok)
            {
                throw new InvalidOperationException($"could not pull {image}");
            }

            return await ImageCommands.FindAsync(stores, image, cancellationToken).ConfigureAwait(false);
        }
    }

    private RunRequest ToRequest(ParseResult parsed, string image, string[] containerCommand)
    {
        var network = parsed.GetValue(_network) switch
        {
            "none" => NetworkMode.None,
            "host" => NetworkMode.Host,
            "bridge" => NetworkMode.Bridge,
            var other => throw new UsageException($"network mode \"{other}\" is not supported (none, host or bridge)"),
        };
        var pids = parsed.GetValue(_pidsLimit);
        var limits = new CgroupLimits(
            MemoryBytes: parsed.GetValue(_memory) is { } memory ? ParseMemory(memory) : null,
            Cpus: parsed.GetValue(_cpus) is { } cpus ? ParseCpus(cpus) : null,
            PidsMax: pids is null or <= 0 ? null : pids);
        return new RunRequest
        {
            Image = image,
            Command = containerCommand,
            Entrypoint = parsed.GetValue(_entrypoint),
            Env = parsed.GetValue(_env) ?? [],
            WorkingDir = parsed.GetValue(_workdir),
            User = parsed.GetValue(_user),
            Name = parsed.GetValue(_name),
            Hostname = parsed.GetValue(_hostname),
            Network = network,
            Limits = limits,
            Remove = parsed.GetValue(_remove),
            Detach = parsed.GetValue(_detach),
            Restart = ParseRestart(parsed),
            Mounts = [.. (parsed.GetValue(_volumes) ?? []).Select(MountRequest.ParseVolume), .. (parsed.GetValue(_tmpfs) ?? []).Select(MountRequest.ParseTmpfs)],
            Ports = [.. (parsed.GetValue(_publish) ?? []).Select(PortMapping.Parse)],
            SecurityOpt = SecurityOptions.LoadProfileFiles(parsed.GetValue(_securityOpt) ?? []),
            CapAdd = parsed.GetValue(_capAdd) ?? [],
            CapDrop = parsed.GetValue(_capDrop) ?? [],
            ReadOnlyRootfs = parsed.GetValue(_readOnly),
            Userns = ParseUserns(parsed),
        };
    }

    /// <summary><c>--userns</c>: remap (the default when the node remaps) or host.</summary>
    private UsernsMapping? ParseUserns(ParseResult parsed)
    {
        var remap = parsed.GetValue(usernsRemapOption);
        return parsed.GetValue(_userns) switch
        {
            "host" => null,
            null or "" when remap is null => null,
            null or "" or "remap" when remap is not null => UsernsMapping.Parse(remap),
            "remap" => throw new UsageException($"--userns remap needs the node's mapping: --userns-remap START:COUNT|USER or {UsernsMapping.Variable}"),
            var other => throw new UsageException($"invalid --userns \"{other}\": remap or host"),
        };
    }

    private RestartPolicy ParseRestart(ParseResult parsed)
    {
        var restart = RestartPolicy.Parse(parsed.GetValue(_restart)!);
        if (restart.Kind != RestartKind.No && parsed.GetValue(_remove))
        {
            throw new UsageException("Conflicting options: --restart and --rm");
        }

        return restart;
    }

    /// <summary>docker's memory sizes: a number with an optional binary unit b, k, m, g, t or p (and an optional "b"/"ib").</summary>
    internal static long ParseMemory(string text)
    {
        var match = MemoryPattern().Match(text);
        if (!match.Success || !double.TryParse(match.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            throw new UsageException($"invalid size: '{text}'");
        }

        var shift = match.Groups[2].Value.ToUpperInvariant() switch
        {
            "K" => 10,
            "M" => 20,
            "G" => 30,
            "T" => 40,
            "P" => 50,
            _ => 0,
        };
        return (long)(number * (1L << shift));
    }

    private static double ParseCpus(string text) =>
        double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var cpus)
            ? cpus
            : throw new UsageException($"invalid argument \"{text}\" for \"--cpus\" flag");

    [GeneratedRegex("^([0-9]+(?:\\.[0-9]+)?) ?([kKmMgGtTpP])?(?:[iI]?[bB])?$")]
    private static partial Regex MemoryPattern();
}
