using Registry.Node.Cli;
using Registry.Node.Files;

namespace Registry.Node;

/// <summary>registry-node: pulls images from a registry and keeps them unpacked for the runtime.</summary>
internal static class Program
{
    private static Task<int> Main(string[] args)
    {
        NodeFiles.RestrictUmask();
        return NodeCli.RunAsync(args, CancellationToken.None);
    }
}
