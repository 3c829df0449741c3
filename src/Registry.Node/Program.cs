namespace Registry.Node;

/// <summary>registry-node: pulls images from a registry and runs them. Commands arrive with the runtime.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("registry-node: no commands yet");
        return args.Length == 0 ? 0 : 2;
    }
}
