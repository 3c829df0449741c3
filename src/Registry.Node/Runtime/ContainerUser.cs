using System.Globalization;

namespace Registry.Node.Runtime;

/// <summary>The identity the container's process runs as.</summary>
public sealed record ContainerUser(uint Uid, uint Gid, IReadOnlyList<uint> AdditionalGids, string Home)
{
    public static ContainerUser Root { get; } = new(0, 0, [], "/root");

    /// <summary>
    /// Resolves docker's <c>--user</c> forms (<c>name</c>, <c>uid</c>, <c>name:group</c>,
    /// <c>uid:gid</c>, empty for root) against the image's /etc/passwd and /etc/group, as runc
    /// does: a numeric uid need not exist in passwd (its gid is then 0, its home "/"); a name must;
    /// the additional groups are the /etc/group entries that list the user.
    /// </summary>
    /// <exception cref="ContainerConfigException">A name that the image does not know.</exception>
    public static ContainerUser Resolve(string? spec, string? passwd, string? group)
    {
        if (string.IsNullOrEmpty(spec))
        {
            spec = "0";
        }

        var colon = spec.IndexOf(':', StringComparison.Ordinal);
        var userPart = colon < 0 ? spec : spec[..colon];
        var groupPart = colon < 0 ? null : spec[(colon + 1)..];
        var users = ParseFile(passwd, 7);
        var groups = ParseFile(group, 4);

        string[]? entry;
        uint uid;
        if (TryId(userPart, out uid))
        {
            entry = users.FirstOrDefault(u => TryId(u[2], out var id) && id == uid);
        }
        else
        {
            entry = users.FirstOrDefault(u => u[0] == userPart)
                ?? throw new ContainerConfigException($"unable to find user {userPart}: no matching entries in passwd file");
            uid = TryId(entry[2], out var id) ? id : throw new ContainerConfigException($"user {userPart} has an invalid uid in /etc/passwd");
        }

        var gid = entry is not null && TryId(entry[3], out var primary) ? primary : 0;
        var home = entry is not null && entry[5].Length > 0 ? entry[5] : "/";
        if (groupPart is not null)
        {
            if (!TryId(groupPart, out gid))
            {
                var named = groups.FirstOrDefault(g => g[0] == groupPart)
                    ?? throw new ContainerConfigException($"unable to find group {groupPart}: no matching entries in group file");
                gid = TryId(named[2], out var id) ? id : throw new ContainerConfigException($"group {groupPart} has an invalid gid in /etc/group");
            }
        }

        var additional = new List<uint>();
        if (entry is not null && groupPart is null)
        {
            foreach (var g in groups)
            {
                if (g[3].Split(',').Contains(entry[0]) && TryId(g[2], out var id) && !additional.Contains(id))
                {
                    additional.Add(id);
                }
            }
        }

        return new ContainerUser(uid, gid, additional, home);
    }

    private static List<string[]> ParseFile(string? content, int fields) =>
        content is null
            ? []
            : [.. content.Split('\n')
                .Where(l => l.Length > 0 && !l.StartsWith('#'))
                .Select(l => l.Split(':'))
                .Where(f => f.Length >= fields)];

    private static bool TryId(string text, out uint id) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out id) && id != uint.MaxValue;
}

/// <summary>The container cannot be configured as asked (exit code 125, nothing was created).</summary>
public sealed class ContainerConfigException : Exception
{
    public ContainerConfigException(string message) : base(message)
    {
    }

    public ContainerConfigException(string message, Exception inner) : base(message, inner)
    {
    }

    public ContainerConfigException()
    {
    }
}
