using System.Runtime.InteropServices;

namespace Registry.Node.Files;

/// <summary>
/// The node's root (<c>--root</c>, <c>REGISTRY_NODE_ROOT</c>, default /var/lib/registry-node),
/// prepared before any command touches it. Snapshots keep what images put in them — setuid-root
/// files, device nodes of any major:minor, <c>security.capability</c> — because containers rely
/// on them; containers' upper dirs hold what containers wrote, setuid files included. A local user
/// who could reach them would run a setuid-root file or open a 0666 disk node from an image. So the
/// root is 0700 and owned by the user registry-node runs as, checked at every start:
/// <list type="bullet">
/// <item>missing: created 0700, whatever the umask;</item>
/// <item>group or world accessible (an older install, a hand-made directory): made owner-only
/// (chmod) with one line on stderr;</item>
/// <item>owned by another user, or not a directory: refused (<see cref="NodeRootException"/>), since
/// that user could swap anything under it.</item>
/// </list>
/// 0700 rather than docker's 0710: nothing running as another user needs to traverse it (every
/// mount is made by root before a container's process starts, and a mounted tree is reached through
/// its mount, not through this path).
/// </summary>
internal static partial class NodeRoot
{
    private const uint GroupAndOther = 0x3f; // 077
    private const uint PermissionBits = 0xfff;
    private const uint S_IFMT = 0xF000;
    private const uint S_IFDIR = 0x4000;

    /// <summary>Creates or checks the root; returns its full path.</summary>
    /// <param name="notices">Where the one line about a mode that was corrected goes.</param>
    /// <exception cref="NodeRootException">The root cannot be made safe.</exception>
    public static string Prepare(string root, TextWriter notices)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        ArgumentNullException.ThrowIfNull(notices);
        var full = Path.GetFullPath(root);
        if (!Path.Exists(full))
        {
            try
            {
                NodeFiles.CreatePrivateDirectory(full);
                // The umask may have taken bits away from 0700 (never added any): set it exactly.
                NodeFiles.SetMode(full, NodeFiles.PrivateDirectoryMode);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new NodeRootException($"cannot create the node root {full}: {e.Message}", e);
            }
        }

        var (type, mode, owner) = Stat(full);
        if (type != S_IFDIR)
        {
            throw new NodeRootException($"the node root {full} is not a directory");
        }

        var user = geteuid();
        if (owner != user)
        {
            throw new NodeRootException(
                $"the node root {full} is owned by uid {owner}, not by uid {user} that runs registry-node: another user could change the images and containers in it; chown it or choose another --root");
        }

        if ((mode & GroupAndOther) != 0)
        {
            var fixedMode = mode & ~GroupAndOther;
            NodeFiles.SetMode(full, (UnixFileMode)fixedMode);
            notices.WriteLine(
                $"registry-node: the node root {full} was open to other users (mode {Octal(mode)}); made it {Octal(fixedMode)}");
        }

        return full;
    }

    private static string Octal(uint mode) => "0" + Convert.ToString(mode, 8).PadLeft(3, '0');

    private static (uint Type, uint Mode, uint Owner) Stat(string path)
    {
        // struct statx has one layout on every architecture: stx_uid is a u32 at 0x14, stx_mode a u16 at 0x1C.
        var buffer = new byte[256];
        if (statx(AtFdCwd, path, 0, StatxTypeModeUid, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new NodeRootException($"cannot inspect the node root {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }

        var mode = (uint)BitConverter.ToUInt16(buffer, 0x1C);
        return (mode & S_IFMT, mode & PermissionBits, BitConverter.ToUInt32(buffer, 0x14));
    }

    private const int AtFdCwd = -100;
    private const uint StatxTypeModeUid = 0x1 | 0x2 | 0x8; // STATX_TYPE | STATX_MODE | STATX_UID

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, [Out] byte[] buffer);

    [LibraryImport("libc")]
    private static partial uint geteuid();
}

/// <summary>The node's root is unsafe to use and was not changed (exit code 125).</summary>
public sealed class NodeRootException : Exception
{
    public NodeRootException(string message) : base(message)
    {
    }

    public NodeRootException(string message, Exception inner) : base(message, inner)
    {
    }

    public NodeRootException()
    {
    }
}
