namespace Registry.Testing;

/// <summary>Locates the work tree (the directory holding Registry.sln) from the test binaries.</summary>
public static class RepositoryRoot
{
    private static readonly Lazy<string> Root = new(Find);

    public static string Path => Root.Value;

    private static string Find()
    {
        // Bounded: a directory tree has finitely many ancestors.
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Registry.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"Registry.sln was not found in any parent of {AppContext.BaseDirectory}.");
    }
}
