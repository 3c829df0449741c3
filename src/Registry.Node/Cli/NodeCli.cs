using System.CommandLine;
using System.CommandLine.Invocation;
using Registry.Node.Client;

namespace Registry.Node.Cli;

/// <summary>
/// The <c>registry-node</c> command line. Exit codes follow docker's: 0 done, 1 the command
/// failed (one line on stderr says why), 125 the command line itself was wrong.
/// </summary>
internal static class NodeCli
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int UsageError = 125;

    public const string DefaultRoot = "/var/lib/registry-node";
    public const string RootVariable = "REGISTRY_NODE_ROOT";

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var rootOption = new Option<string>("--root")
        {
            Description = $"Where images, blobs and snapshots are kept (env {RootVariable})",
            Recursive = true,
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(RootVariable) is { Length: > 0 } root ? root : DefaultRoot,
        };
        var usernsRemapOption = new Option<string?>("--userns-remap")
        {
            Description = $"Run containers in a user namespace mapped to START:COUNT of the host's ids, or to a user's /etc/subuid and /etc/subgid ranges (env {Runtime.Security.UsernsMapping.Variable}); run --userns host turns it off",
            Recursive = true,
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable(Runtime.Security.UsernsMapping.Variable) is { Length: > 0 } remap ? remap : null,
        };
        var command = new RootCommand("registry-node: pulls images from an OCI registry and runs them");
        command.Options.Add(rootOption);
        command.Options.Add(usernsRemapOption);
        var commands = new ImageCommands(rootOption);
        command.Subcommands.Add(commands.Pull());
        command.Subcommands.Add(commands.Images());
        command.Subcommands.Add(commands.Rmi());
        command.Subcommands.Add(commands.Prune());
        command.Subcommands.Add(commands.Inspect());
        var (parseArgs, containerCommand) = RunCommand.SplitAtImage(args);
        command.Subcommands.Add(new RunCommand(rootOption, usernsRemapOption).Create(containerCommand));
        var (execParseArgs, execCommand) = ContainerCommands.SplitAtContainer(args);
        var containers = new ContainerCommands(rootOption);
        command.Subcommands.Add(containers.Ps());
        command.Subcommands.Add(containers.Logs());
        command.Subcommands.Add(containers.Stop());
        command.Subcommands.Add(containers.Start());
        command.Subcommands.Add(containers.Rm());
        command.Subcommands.Add(containers.Exec(execCommand));
        if (execCommand.Length > 0)
        {
            parseArgs = execParseArgs;
        }
        command.Subcommands.Add(new VolumeCommands(rootOption).Create());
        var agent = new AgentCommands(rootOption, usernsRemapOption);
        command.Subcommands.Add(agent.Join());
        command.Subcommands.Add(agent.Agent());

        var parsed = command.Parse(parseArgs);
        if (parsed.Action is ParseErrorAction)
        {
            // Docker's convention: usage errors are 125, so scripts can tell them from a failed pull.
            foreach (var error in parsed.Errors)
            {
                await Console.Error.WriteLineAsync($"registry-node: {error.Message}").ConfigureAwait(false);
            }

            await Console.Error.WriteLineAsync("See 'registry-node --help'.").ConfigureAwait(false);
            return UsageError;
        }

        return await parsed.InvokeAsync(new InvocationConfiguration(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Runs a command's body and turns its failure into docker's one-line message and exit code.</summary>
    public static async Task<int> GuardAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (Exception e) when (e is UsageException or Files.NodeRootException)
        {
            await Console.Error.WriteLineAsync($"registry-node: {OneLine(e.Message)}").ConfigureAwait(false);
            return UsageError;
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("cancelled").ConfigureAwait(false);
            return Failed;
        }
        catch (Exception e)
        {
            await Console.Error.WriteLineAsync(Describe(e)).ConfigureAwait(false);
            return Failed;
        }
    }

    /// <summary>The one line a failure is reported with.</summary>
    internal static string Describe(Exception e) => OneLine(e switch
    {
        ImageNotFoundException notFound => $"image not found: {notFound.Reference}",
        PlatformNotFoundException platform =>
            $"no matching platform {platform.Requested} in {platform.Reference}; available: "
            + (platform.Available.Count == 0 ? "none" : string.Join(", ", platform.Available)),
        RegistryClientException registry => $"Error response from registry: {registry.Message}",
        HttpRequestException http => $"Error response from registry: cannot connect: {http.Message}",
        LocalImageNotFoundException local => $"image not found: {local.Image}",
        Runtime.ContainerNotFoundException container => $"Error response from daemon: No such container: {container.Reference}",
        Runtime.ContainerStateConflictException conflict => $"Error response from daemon: {conflict.Message}",
        Snapshots.LayerUnpackException unpack => $"failed to unpack image: {unpack.Message}",
        Agent.AgentException agent => $"registry-node: {agent.Message}",
        _ => $"Error: {e.Message}",
    });

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}

/// <summary>A command line that parsed but makes no sense (a malformed --platform, …): exit code 125.</summary>
internal sealed class UsageException(string message) : Exception(message);

/// <summary>An image this node has not pulled.</summary>
internal sealed class LocalImageNotFoundException(string image) : Exception($"image not found: {image}")
{
    public string Image { get; } = image;
}
