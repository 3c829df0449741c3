namespace Registry.Node.Runtime.Security;

/// <summary>Linux capabilities by name and number (linux/capability.h), docker's default set and its <c>--cap-add</c>/<c>--cap-drop</c>.</summary>
internal static class Capabilities
{
    /// <summary>Every capability this kernel interface defines, up to CAP_CHECKPOINT_RESTORE (Linux 5.9).</summary>
    public static readonly IReadOnlyDictionary<string, int> ByName = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["CAP_CHOWN"] = 0,
        ["CAP_DAC_OVERRIDE"] = 1,
        ["CAP_DAC_READ_SEARCH"] = 2,
        ["CAP_FOWNER"] = 3,
        ["CAP_FSETID"] = 4,
        ["CAP_KILL"] = 5,
        ["CAP_SETGID"] = 6,
        ["CAP_SETUID"] = 7,
        ["CAP_SETPCAP"] = 8,
        ["CAP_LINUX_IMMUTABLE"] = 9,
        ["CAP_NET_BIND_SERVICE"] = 10,
        ["CAP_NET_BROADCAST"] = 11,
        ["CAP_NET_ADMIN"] = 12,
        ["CAP_NET_RAW"] = 13,
        ["CAP_IPC_LOCK"] = 14,
        ["CAP_IPC_OWNER"] = 15,
        ["CAP_SYS_MODULE"] = 16,
        ["CAP_SYS_RAWIO"] = 17,
        ["CAP_SYS_CHROOT"] = 18,
        ["CAP_SYS_PTRACE"] = 19,
        ["CAP_SYS_PACCT"] = 20,
        ["CAP_SYS_ADMIN"] = 21,
        ["CAP_SYS_BOOT"] = 22,
        ["CAP_SYS_NICE"] = 23,
        ["CAP_SYS_RESOURCE"] = 24,
        ["CAP_SYS_TIME"] = 25,
        ["CAP_SYS_TTY_CONFIG"] = 26,
        ["CAP_MKNOD"] = 27,
        ["CAP_LEASE"] = 28,
        ["CAP_AUDIT_WRITE"] = 29,
        ["CAP_AUDIT_CONTROL"] = 30,
        ["CAP_SETFCAP"] = 31,
        ["CAP_MAC_OVERRIDE"] = 32,
        ["CAP_MAC_ADMIN"] = 33,
        ["CAP_SYSLOG"] = 34,
        ["CAP_WAKE_ALARM"] = 35,
        ["CAP_BLOCK_SUSPEND"] = 36,
        ["CAP_AUDIT_READ"] = 37,
        ["CAP_PERFMON"] = 38,
        ["CAP_BPF"] = 39,
        ["CAP_CHECKPOINT_RESTORE"] = 40,
    };

    /// <summary>The set docker gives a container unless told otherwise.</summary>
    public static readonly IReadOnlyList<string> DockerDefault =
    [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
        "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT", "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
    ];

    private const string All = "ALL";

    /// <summary>
    /// The capabilities this process may give a container: its bounding set (<c>CapBnd</c> in
    /// /proc/self/status), which is every capability of the kernel on a plain host, fewer when the node
    /// itself runs confined. rn-init inherits it.
    /// </summary>
    public static IReadOnlySet<string> Available { get; } = ReadBoundingSet();

    /// <summary>
    /// docker's rules: names case-insensitive, with or without <c>CAP_</c>; <c>--cap-add ALL</c> is every
    /// capability (here: every one <paramref name="available"/>) but the dropped ones; <c>--cap-drop ALL</c>
    /// keeps only the added ones; otherwise the default set less the dropped ones, then the added ones.
    /// </summary>
    /// <exception cref="ContainerConfigException">A name that is no capability, or one the node does not hold.</exception>
    public static IReadOnlyList<string> Resolve(IEnumerable<string> add, IEnumerable<string> drop, IReadOnlySet<string> available)
    {
        var adds = Normalize(add);
        var drops = Normalize(drop);
        IEnumerable<string> result = adds.Contains(All) ? ByName.Keys.Where(c => available.Contains(c) && !drops.Contains(c))
            : drops.Contains(All) ? adds
            : DockerDefault.Where(c => !drops.Contains(c)).Concat(adds);
        var capabilities = result.Distinct().OrderBy(c => ByName[c]).ToList();
        foreach (var missing in capabilities.Where(c => !available.Contains(c)))
        {
            throw new ContainerConfigException($"capability {missing} is not in this node's own bounding set: it cannot give it to a container");
        }

        return capabilities;
    }

    private static HashSet<string> ReadBoundingSet()
    {
        var line = File.Exists("/proc/self/status")
            ? File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("CapBnd:", StringComparison.Ordinal))
            : null;
        var mask = line is not null && ulong.TryParse(line["CapBnd:".Length..].Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture, out var bits)
            ? bits
            : ulong.MaxValue;
        return [.. ByName.Where(c => (mask & (1UL << c.Value)) != 0).Select(c => c.Key)];
    }

    private static HashSet<string> Normalize(IEnumerable<string> names)
    {
        var normalized = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var upper = name.Trim().ToUpperInvariant();
            var capability = upper == All || upper.StartsWith("CAP_", StringComparison.Ordinal) ? upper : "CAP_" + upper;
            if (capability != All && !ByName.ContainsKey(capability))
            {
                throw new ContainerConfigException($"unknown capability: \"{capability}\"");
            }

            normalized.Add(capability);
        }

        return normalized;
    }
}
