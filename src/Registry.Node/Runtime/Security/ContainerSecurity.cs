using System.Globalization;

namespace Registry.Node.Runtime.Security;

/// <summary>
/// A container's confinement, resolved before anything is made: the capabilities it keeps,
/// whether no_new_privs is set, its seccomp filter (none when unconfined) and whether its root
/// filesystem is read-only. Written into rn-init's spec; <c>exec</c> takes the same capabilities,
/// no_new_privs and filter from the container's spec.
/// </summary>
internal sealed record ContainerSecurity(IReadOnlyList<string> Capabilities, bool NoNewPrivileges, SeccompFilter? Seccomp, bool ReadOnlyRootfs)
{
    /// <summary>User-namespace remapping, when the container has it.</summary>
    public UsernsMapping? Userns { get; init; }

    /// <summary>The spec keys that carry these settings (an exec copies them from the container's spec).</summary>
    public static readonly IReadOnlySet<string> SpecKeys = new HashSet<string>(StringComparer.Ordinal)
    {
        "cap", "no_new_privs", "seccomp_default", "seccomp_arch", "seccomp_flag", "seccomp_rule", "seccomp_cache",
        "userns_uid", "userns_gid", "userns_count",
    };

    /// <exception cref="ContainerConfigException">A security option or the seccomp profile is not valid.</exception>
    public static ContainerSecurity Resolve(RunRequest request, SeccompPlatform platform)
    {
        var options = SecurityOptions.Parse(request.SecurityOpt);
        var capabilities = Security.Capabilities.Resolve(request.CapAdd, request.CapDrop, Security.Capabilities.Available);
        // The rules tied to a capability follow the capabilities the container runs with, as docker's.
        var seccomp = options.SeccompUnconfined
            ? null
            : SeccompFilter.Resolve(options.SeccompProfileJson is { } json ? SeccompProfile.Parse(json) : SeccompProfile.Default, capabilities, platform);
        if (request.Userns is not null && request.Network == NetworkMode.Host)
        {
            throw new ContainerConfigException("--network host cannot be used with a remapped user namespace (use --userns host)");
        }

        return new ContainerSecurity(capabilities, options.NoNewPrivileges, seccomp, request.ReadOnlyRootfs) { Userns = request.Userns };
    }

    /// <param name="seccompCache">Where rn-init keeps compiled filters (the node's <c>seccomp/</c>).</param>
    public IEnumerable<(string Key, string Value)> SpecEntries(string seccompCache)
    {
        foreach (var number in Capabilities.Select(c => Security.Capabilities.ByName[c]).Order())
        {
            yield return ("cap", number.ToString(CultureInfo.InvariantCulture));
        }

        yield return ("no_new_privs", NoNewPrivileges ? "1" : "0");
        yield return ("readonly_rootfs", ReadOnlyRootfs ? "1" : "0");
        foreach (var entry in Userns?.SpecEntries() ?? [])
        {
            yield return entry;
        }

        if (Seccomp is null)
        {
            yield break;
        }

        foreach (var entry in Seccomp.SpecEntries())
        {
            yield return entry;
        }

        yield return ("seccomp_cache", seccompCache);
    }
}
