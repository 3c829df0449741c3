using System.Globalization;

namespace Registry.Node.Runtime.Security;

/// <summary>
/// User-namespace remapping: the container's uids and gids 0 .. Count-1 are the host's HostUid..
/// and HostGid.., so its root is an unprivileged user on the host (native/rn-userns.c).
/// </summary>
internal sealed record UsernsMapping(uint HostUid, uint HostGid, uint Count)
{
    /// <summary>The node setting (<c>--userns-remap</c>, <c>REGISTRY_NODE_USERNS_REMAP</c>).</summary>
    public const string Variable = "REGISTRY_NODE_USERNS_REMAP";

    /// <summary>
    /// <c>START:COUNT</c> (uids and gids alike), or a user name whose first ranges in /etc/subuid and
    /// /etc/subgid are used, as docker's <c>userns-remap</c> takes them.
    /// </summary>
    /// <exception cref="ContainerConfigException"/>
    public static UsernsMapping Parse(string setting, string subuid = "/etc/subuid", string subgid = "/etc/subgid")
    {
        var parts = setting.Split(':');
        if (parts.Length == 2 && uint.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            && uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var count))
        {
            return Checked(start, start, count, setting);
        }

        if (parts.Length != 1 || setting.Length == 0)
        {
            throw new ContainerConfigException($"invalid user namespace remapping \"{setting}\": START:COUNT or a user name in /etc/subuid and /etc/subgid");
        }

        var (uid, uidCount) = SubordinateRange(subuid, setting);
        var (gid, gidCount) = SubordinateRange(subgid, setting);
        return Checked(uid, gid, Math.Min(uidCount, gidCount), setting);
    }

    public IEnumerable<(string Key, string Value)> SpecEntries()
    {
        yield return ("userns_uid", HostUid.ToString(CultureInfo.InvariantCulture));
        yield return ("userns_gid", HostGid.ToString(CultureInfo.InvariantCulture));
        yield return ("userns_count", Count.ToString(CultureInfo.InvariantCulture));
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{HostUid}:{HostGid}:{Count}");

    private static UsernsMapping Checked(uint uid, uint gid, uint count, string setting) =>
        uid == 0 || gid == 0 || count == 0 || (ulong)uid + count > uint.MaxValue || (ulong)gid + count > uint.MaxValue
            ? throw new ContainerConfigException($"invalid user namespace remapping \"{setting}\": the host range must start above 0 and hold at least one id")
            : new UsernsMapping(uid, gid, count);

    private static (uint Start, uint Count) SubordinateRange(string file, string user)
    {
        var line = File.Exists(file) ? File.ReadLines(file).FirstOrDefault(l => l.StartsWith(user + ":", StringComparison.Ordinal)) : null;
        var fields = line?.Split(':');
        return fields is { Length: 3 } && uint.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var start)
            && uint.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var count)
            ? (start, count)
            : throw new ContainerConfigException($"invalid user namespace remapping \"{user}\": no range for {user} in {file}");
    }
}
