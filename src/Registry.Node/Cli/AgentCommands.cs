using System.CommandLine;
using Registry.Node.Agent;
using Registry.Node.Runtime;
using Registry.Node.Runtime.Security;

namespace Registry.Node.Cli;

/// <summary><c>join</c> and <c>agent</c>: the node's side of docs/nodes.md (src/Registry.Node/Agent).</summary>
internal sealed class AgentCommands(Option<string> rootOption, Option<string?> usernsRemapOption)
{
    public Command Join()
    {
        var server = new Option<string>("--server") { Description = "The registry's URL (http or https)", Required = true };
        var token = new Option<string>("--token") { Description = "A join token an administrator made (POST /api/v1/nodes/join-tokens)", Required = true };
        var name = new Option<string?>("--name") { Description = "The node's name, a DNS label (default: the host name)" };
        var labels = new Option<string[]>("--label") { Description = "A label KEY=VALUE the registry places containers by (repeatable)", Arity = ArgumentArity.ZeroOrMore, AllowMultipleArgumentsPerToken = false };
        var force = new Option<bool>("--force") { Description = "Join again although this node has joined before" };
        var command = new Command("join", "Join a registry with a join token; the node's credential is kept in ROOT/agent/node.json") { server, token, name, labels, force };
        command.SetAction((parsed, ct) => NodeCli.GuardAsync(async () =>
        {
            // A wrong URL is reported before anything on the node is touched.
            _ = NodeJoin.ParseServer(parsed.GetValue(server)!);
            var stores = new NodeStores(parsed.GetValue(rootOption)!);
            var identity = await new NodeJoin(new AgentFiles(stores.Root), TimeProvider.System).JoinAsync(
                parsed.GetValue(server)!, parsed.GetValue(token)!, parsed.GetValue(name), parsed.GetValue(labels) ?? [], parsed.GetValue(force), stores.Root, ct).ConfigureAwait(false);
            await Console.Out.WriteLineAsync($"joined {identity.Server} as {identity.Name}").ConfigureAwait(false);
            return NodeCli.Ok;
        }));
        return command;
    }

    public Command Agent()
    {
        var command = new Command("agent", "Run the node agent in the foreground: heartbeats, the registry's desired containers, their logs");
        command.SetAction((parsed, ct) => NodeCli.GuardAsync(async () =>
        {
            if (RuntimeSyscalls.geteuid() != 0)
            {
                throw new UsageException("agent needs root: it creates namespaces, mounts and cgroups");
            }

            var remap = parsed.GetValue(usernsRemapOption);
            var userns = remap is null ? null : UsernsMapping.Parse(remap);
            return await NodeAgent.RunAsync(parsed.GetValue(rootOption)!, userns, Console.Error, ct).ConfigureAwait(false);
        }));
        return command;
    }
}
