using System.Runtime.InteropServices;

namespace Registry.Node.Runtime.Networking;

/// <summary>The bridge namespace's nsfs file from C#; everything inside namespaces is rn-init's.</summary>
internal static partial class NetworkSyscalls
{
    public const int MNT_DETACH = 2;

    private const long NSFS_MAGIC = 0x6e736673;

    /// <summary>Whether <paramref name="path"/> is a mounted namespace file (statfs' f_type, the first field on 64-bit Linux).</summary>
    public static bool IsNamespaceFile(string path)
    {
        var buffer = new byte[256];
        return statfs(path, buffer) == 0 && BitConverter.ToInt64(buffer, 0) == NSFS_MAGIC;
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int umount2(string target, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statfs(string path, [Out] byte[] buffer);
}
