using System.Runtime.InteropServices;

namespace Registry.Testing;

/// <summary>File permissions as tests check them (Linux only): modes as octal text, and the process's umask.</summary>
public static partial class FileModes
{
    /// <summary>The mode of a file or directory as <c>chmod</c> writes it, e.g. <c>0600</c>.</summary>
    public static string Of(string path) =>
        OperatingSystem.IsWindows()
            ? throw new PlatformNotSupportedException()
            : "0" + Convert.ToString((int)File.GetUnixFileMode(path) & 0xFFF, 8);

    /// <summary>Sets a mode given in octal text, e.g. <c>0755</c>.</summary>
    public static void Set(string path, string octal)
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException();
        }

        File.SetUnixFileMode(path, (UnixFileMode)Convert.ToInt32(octal, 8));
    }

    /// <summary>
    /// Sets the process's umask (in octal text, e.g. <c>022</c>) until disposed. It is process-wide: tests that rely
    /// on it check only modes the code under test sets explicitly, which any umask leaves as they are.
    /// </summary>
    public static IDisposable Umask(string octal)
    {
        var previous = SetUmask(Convert.ToInt32(octal, 8));
        return new Restore(previous);
    }

    private sealed class Restore(int previous) : IDisposable
    {
        public void Dispose() => _ = SetUmask(previous);
    }

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial int SetUmask(int mask);
}
