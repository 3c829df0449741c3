using System.Globalization;
using System.Text.RegularExpressions;

namespace Registry.Node.Runtime.Security;

/// <summary>
/// One container's seccomp filter, resolved from a <see cref="SeccompProfile"/> for its capabilities,
/// the host's architecture and kernel, as docker resolves a profile into the OCI spec: the rules whose
/// <c>includes</c> hold and whose <c>excludes</c> do not, for the native architecture and the ones
/// the profile's <c>archMap</c> pairs with it. rn-init builds and loads it with libseccomp
/// (native/rn-seccomp.c, which also describes the spec entries written here).
/// </summary>
internal sealed partial record SeccompFilter(string DefaultAction, IReadOnlyList<string> Architectures, IReadOnlyList<SeccompFilter.Rule> Rules, IReadOnlyList<string> Flags)
{
    private const uint Eperm = 1;

    /// <summary>A system call, the action taken for it, and the conditions (all must hold) under which the rule applies.</summary>
    public sealed record Rule(string Action, string Syscall, IReadOnlyList<string> Conditions);

    /// <exception cref="ContainerConfigException">The profile is not valid: an unknown action, operator, architecture or flag, ….</exception>
    public static SeccompFilter Resolve(SeccompProfile profile, IReadOnlyCollection<string> capabilities, SeccompPlatform platform)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (string.IsNullOrEmpty(profile.DefaultAction))
        {
            throw Invalid("the profile has no defaultAction");
        }

        var defaultAction = Action(profile.DefaultAction, profile.DefaultErrnoRet);
        var rules = new List<Rule>();
        foreach (var entry in profile.Syscalls ?? [])
        {
            var names = Names(entry);
            var action = Action(entry.Action ?? throw Invalid($"the rule for {string.Join(", ", names)} has no action"), entry.ErrnoRet);
            var conditionSets = ConditionSets(entry.Args ?? []);
            if (!Applies(entry, capabilities, platform) || action == defaultAction)
            {
                continue;
            }

            foreach (var name in names)
            {
                rules.AddRange(conditionSets.Select(conditions => new Rule(action, name, conditions)));
            }
        }

        return new SeccompFilter(defaultAction, ResolveArchitectures(profile, platform), rules, ResolveFlags(profile.Flags ?? []));
    }

    /// <summary>rn-init's spec entries: <c>seccomp_default</c>, <c>seccomp_arch</c>, <c>seccomp_flag</c>, <c>seccomp_rule</c>.</summary>
    public IEnumerable<(string Key, string Value)> SpecEntries()
    {
        yield return ("seccomp_default", DefaultAction);
        foreach (var arch in Architectures)
        {
            yield return ("seccomp_arch", arch);
        }

        foreach (var flag in Flags)
        {
            yield return ("seccomp_flag", flag);
        }

        foreach (var rule in Rules)
        {
            yield return ("seccomp_rule", string.Join(' ', [rule.Action, rule.Syscall, .. rule.Conditions]));
        }
    }

    private static List<string> Names(SeccompSyscallRule entry)
    {
        if (!string.IsNullOrEmpty(entry.Name) && entry.Names is { Count: > 0 })
        {
            throw Invalid("'name' and 'names' were specified in the seccomp profile, use either 'name' or 'names'");
        }

        List<string> names = entry.Names is { Count: > 0 } ? [.. entry.Names] : string.IsNullOrEmpty(entry.Name) ? [] : [entry.Name];
        if (names.Count == 0)
        {
            throw Invalid("a rule names no system call");
        }

        foreach (var name in names.Where(n => !SyscallName().IsMatch(n)))
        {
            throw Invalid($"\"{name}\" is not a system call name");
        }

        return names;
    }

    /// <summary>rn-init's action: allow, errno:N, kill_thread, kill_process, trap, trace:N or log.</summary>
    private static string Action(string action, uint? errnoRet)
    {
        var text = action switch
        {
            "SCMP_ACT_ALLOW" => "allow",
            "SCMP_ACT_ERRNO" => $"errno:{errnoRet ?? Eperm}",
            "SCMP_ACT_TRACE" => $"trace:{errnoRet ?? Eperm}",
            "SCMP_ACT_KILL" or "SCMP_ACT_KILL_THREAD" => "kill_thread",
            "SCMP_ACT_KILL_PROCESS" => "kill_process",
            "SCMP_ACT_TRAP" => "trap",
            "SCMP_ACT_LOG" => "log",
            "SCMP_ACT_NOTIFY" => throw Invalid("SCMP_ACT_NOTIFY needs a seccomp agent, which registry-node does not run"),
            _ => throw Invalid($"unrecognized seccomp action \"{action}\""),
        };
        return errnoRet > 0xffff ? throw Invalid($"errnoRet {errnoRet} is out of range") : text;
    }

    /// <summary>
    /// The rules one entry's arguments make: one rule with every condition, or, when two conditions
    /// name the same argument (which one BPF rule cannot test), one rule per condition, as runc does.
    /// </summary>
    private static List<IReadOnlyList<string>> ConditionSets(IReadOnlyList<SeccompArgument> arguments)
    {
        var conditions = arguments.Select(Condition).ToList();
        if (conditions.Count == 0)
        {
            return [[]];
        }

        return arguments.Select(a => a.Index).Distinct().Count() == arguments.Count ? [conditions] : [.. conditions.Select(c => (IReadOnlyList<string>)[c])];
    }

    private static string Condition(SeccompArgument argument)
    {
        if (argument.Index > 5)
        {
            throw Invalid($"argument index {argument.Index} is out of range (0 to 5)");
        }

        var op = argument.Op switch
        {
            "SCMP_CMP_NE" => "ne",
            "SCMP_CMP_LT" => "lt",
            "SCMP_CMP_LE" => "le",
            "SCMP_CMP_EQ" => "eq",
            "SCMP_CMP_GE" => "ge",
            "SCMP_CMP_GT" => "gt",
            "SCMP_CMP_MASKED_EQ" => "masked_eq",
            _ => throw Invalid($"unrecognized seccomp operator \"{argument.Op}\""),
        };
        return string.Create(CultureInfo.InvariantCulture, $"{argument.Index}:{op}:{argument.Value}:{argument.ValueTwo}");
    }

    /// <summary>docker's test: every <c>includes</c> condition holds and no <c>excludes</c> condition does.</summary>
    private static bool Applies(SeccompSyscallRule entry, IReadOnlyCollection<string> capabilities, SeccompPlatform platform)
    {
        if (entry.Excludes is { } excludes)
        {
            if ((excludes.Arches ?? []).Contains(platform.GoArch)
                || (excludes.Caps ?? []).Any(capabilities.Contains)
                || (excludes.MinKernel is { Length: > 0 } min && platform.Kernel >= KernelVersion(min)))
            {
                return false;
            }
        }

        if (entry.Includes is { } includes)
        {
            if ((includes.Arches is { Count: > 0 } arches && !arches.Contains(platform.GoArch))
                || !(includes.Caps ?? []).All(capabilities.Contains)
                || (includes.MinKernel is { Length: > 0 } min && platform.Kernel < KernelVersion(min)))
            {
                return false;
            }
        }

        return true;
    }

    private static Version KernelVersion(string text)
    {
        var parts = text.Split('.');
        return parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
            ? new Version(major, minor)
            : throw Invalid($"invalid kernel version \"{text}\" (MAJOR.MINOR)");
    }

    /// <summary>libseccomp's names: <c>architectures</c> as given, or the native one and its <c>archMap</c> companions.</summary>
    private static List<string> ResolveArchitectures(SeccompProfile profile, SeccompPlatform platform)
    {
        if (profile.Architectures is { Count: > 0 } && profile.ArchMap is { Count: > 0 })
        {
            throw Invalid("both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'");
        }

        IEnumerable<string> names = profile.Architectures is { Count: > 0 } list
            ? list
            : (profile.ArchMap ?? []).Where(m => m.Architecture == platform.ScmpArch).SelectMany(m => (string[])[m.Architecture!, .. m.SubArchitectures ?? []]);
        return [.. names.Select(LibseccompArch).Distinct()];
    }

    private static string LibseccompArch(string name) =>
        name.StartsWith("SCMP_ARCH_", StringComparison.Ordinal) && KnownArches.Contains(name["SCMP_ARCH_".Length..])
            ? name["SCMP_ARCH_".Length..].ToLowerInvariant()
            : throw Invalid($"unrecognized architecture \"{name}\"");

    private static readonly HashSet<string> KnownArches = new(StringComparer.Ordinal)
    {
        "X86", "X86_64", "X32", "ARM", "AARCH64", "MIPS", "MIPS64", "MIPS64N32", "MIPSEL", "MIPSEL64", "MIPSEL64N32",
        "PPC", "PPC64", "PPC64LE", "S390", "S390X", "PARISC", "PARISC64", "RISCV64",
    };

    private static List<string> ResolveFlags(IReadOnlyList<string> flags) =>
    [
        .. flags.Select(flag => flag switch
        {
            // rn-init is one thread when it loads the filter: synchronising threads changes nothing.
            "SECCOMP_FILTER_FLAG_TSYNC" => null,
            "SECCOMP_FILTER_FLAG_LOG" => "log",
            "SECCOMP_FILTER_FLAG_SPEC_ALLOW" => "spec_allow",
            _ => throw Invalid($"unsupported seccomp flag \"{flag}\""),
        }).OfType<string>().Distinct(),
    ];

    private static ContainerConfigException Invalid(string message) => new($"invalid seccomp profile: {message}");

    [GeneratedRegex("^[a-z0-9_]{1,64}$")]
    private static partial Regex SyscallName();
}
