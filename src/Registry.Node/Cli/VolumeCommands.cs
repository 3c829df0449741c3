using System.CommandLine;
using Registry.Node.Runtime;
using Registry.Node.Runtime.Volumes;

namespace Registry.Node.Cli;

/// <summary><c>registry-node volume ls|create|rm</c>: the node's named volumes (Runtime/Volumes/VolumeStore.cs).</summary>
internal sealed class VolumeCommands(Option<string> rootOption)
{
    public Command Create()
    {
        var volume = new Command("volume", "Manage named volumes");
        volume.Subcommands.Add(List());
        volume.Subcommands.Add(Make());
        volume.Subcommands.Add(Remove());
        return volume;
    }

    private Command List()
    {
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Only names" };
        var command = new Command("ls", "List volumes") { quiet };
        command.SetAction((parsed, _) => NodeCli.GuardAsync(async () =>
        {
            var names = Store(parsed).List();
            var lines = parsed.GetValue(quiet) ? names : ["DRIVER    VOLUME NAME", .. names.Select(n => $"local     {n}")];
            foreach (var line in lines)
            {
                await Console.Out.WriteLineAsync(line).ConfigureAwait(false);
            }

            return NodeCli.Ok;
        }));
        return command;
    }

    private Command Make()
    {
        var name = new Argument<string>("NAME");
        var command = new Command("create", "Create a volume (a volume is also made on first use by run -v)") { name };
        command.SetAction((parsed, _) => NodeCli.GuardAsync(async () =>
        {
            var volume = parsed.GetValue(name)!;
            if (!VolumeStore.IsValidName(volume))
            {
                throw new UsageException($"\"{volume}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed");
            }

            Store(parsed).Create(volume);
            await Console.Out.WriteLineAsync(volume).ConfigureAwait(false);
            return NodeCli.Ok;
        }));
        return command;
    }

    private Command Remove()
    {
        var names = new Argument<string[]>("VOLUME") { Arity = ArgumentArity.OneOrMore };
        var command = new Command("rm", "Remove volumes no container uses") { names };
        command.SetAction((parsed, _) => NodeCli.GuardAsync(async () =>
        {
            // Like docker: each volume on its own; the command fails if any could not be removed.
            var result = NodeCli.Ok;
            foreach (var volume in parsed.GetValue(names)!)
            {
                try
                {
                    Store(parsed).Remove(volume);
                    await Console.Out.WriteLineAsync(volume).ConfigureAwait(false);
                }
                catch (Exception e) when (e is VolumeException or ContainerConfigException)
                {
                    await Console.Error.WriteLineAsync($"Error response from daemon: {e.Message}").ConfigureAwait(false);
                    result = NodeCli.Failed;
                }
            }

            return result;
        }));
        return command;
    }

    private VolumeStore Store(ParseResult parsed) => new(Files.NodeRoot.Prepare(parsed.GetValue(rootOption)!, Console.Error));
}
