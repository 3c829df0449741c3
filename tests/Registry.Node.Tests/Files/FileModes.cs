using Registry.Node.Tests.Snapshots;
using Registry.Testing;

namespace Registry.Node.Tests.Files;

/// <summary>Permission bits in octal ("700", "4755") as coreutils' stat reports them (lstat: a symlink is not followed).</summary>
internal static class FileModes
{
    public static Task<string> OfAsync(string path) => Stat.FormatAsync(path, "%a");

    /// <summary>Each path's mode, from one stat call.</summary>
    public static async Task<IReadOnlyDictionary<string, string>> OfAsync(IEnumerable<string> paths)
    {
        var list = paths.ToList();
        Assert.NotEmpty(list);
        var result = (await ProcessRunner.RunAsync("stat", ["-c", "%a %n", .. list])).EnsureSuccess();
        return result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => line.Split(' ', 2))
            .ToDictionary(parts => parts[1], parts => parts[0], StringComparer.Ordinal);
    }

    public static async Task SetAsync(string path, string octal) =>
        (await ProcessRunner.RunAsync("chmod", [octal, path])).EnsureSuccess();
}
