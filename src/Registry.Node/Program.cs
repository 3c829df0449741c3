using Registry.Node.Cli;

namespace Registry.Node;

/// <summary>registry-node: pulls images from a registry and keeps them unpacked for the runtime.</summary>
internal static class Program
{
    private static Task<int> Main(string[] args) => NodeCli.RunAsync(args, CancellationToken.None);
}
