using Registry.Node.Runtime;
using Registry.Node.Runtime.Security;

namespace Registry.Node.Tests.Runtime;

/// <summary>How a docker-format profile resolves for a container's capabilities, architecture and kernel.</summary>
public sealed class SeccompFilterTests
{
    private static readonly SeccompPlatform Amd64 = new("amd64", "SCMP_ARCH_X86_64", new Version(6, 1));

    private static readonly IReadOnlyList<string> DockerCapabilities = Capabilities.DockerDefault;

    [Fact]
    public void The_default_profile_refuses_by_default_with_EPERM_for_the_native_architecture_and_its_companions()
    {
        var filter = SeccompFilter.Resolve(SeccompProfile.Default, DockerCapabilities, Amd64);

        Assert.Equal("errno:1", filter.DefaultAction);
        Assert.Equal(["x86_64", "x86", "x32"], filter.Architectures);
        Assert.Contains(filter.Rules, r => r is { Action: "allow", Syscall: "read", Conditions.Count: 0 });
        Assert.Contains(filter.Rules, r => r is { Action: "allow", Syscall: "arch_prctl" });
        Assert.DoesNotContain(filter.Rules, r => r.Syscall is "riscv_flush_icache" or "s390_runtime_instr");
    }

    [Theory]
    [InlineData("unshare")]
    [InlineData("mount")]
    [InlineData("setns")]
    [InlineData("keyctl")]
    [InlineData("add_key")]
    [InlineData("request_key")]
    [InlineData("bpf")]
    [InlineData("reboot")]
    [InlineData("init_module")]
    [InlineData("open_by_handle_at")]
    public void The_default_profile_allows_no_rule_for(string syscall)
    {
        var filter = SeccompFilter.Resolve(SeccompProfile.Default, DockerCapabilities, Amd64);

        Assert.DoesNotContain(filter.Rules, r => r.Syscall == syscall);
    }

    [Fact]
    public void Without_CAP_SYS_ADMIN_clone_is_allowed_only_without_namespace_flags_and_clone3_gets_ENOSYS()
    {
        var filter = SeccompFilter.Resolve(SeccompProfile.Default, DockerCapabilities, Amd64);

        var clone = Assert.Single(filter.Rules, r => r.Syscall == "clone");
        Assert.Equal(["0:masked_eq:2114060288:0"], clone.Conditions);
        Assert.Equal("errno:38", Assert.Single(filter.Rules, r => r.Syscall == "clone3").Action);
    }

    [Fact]
    public void CAP_SYS_ADMIN_adds_the_calls_docker_ties_to_it()
    {
        var filter = SeccompFilter.Resolve(SeccompProfile.Default, [.. DockerCapabilities, "CAP_SYS_ADMIN"], Amd64);

        Assert.Equal([], Assert.Single(filter.Rules, r => r.Syscall == "clone").Conditions);
        Assert.Equal("allow", Assert.Single(filter.Rules, r => r.Syscall == "clone3").Action);
        Assert.Contains(filter.Rules, r => r is { Action: "allow", Syscall: "unshare" });
        Assert.Contains(filter.Rules, r => r is { Action: "allow", Syscall: "mount" });
    }

    [Theory]
    [InlineData("CAP_SYS_PTRACE", "kcmp")]
    [InlineData("CAP_SYS_BOOT", "reboot")]
    [InlineData("CAP_SYS_MODULE", "finit_module")]
    [InlineData("CAP_SYS_PACCT", "acct")]
    [InlineData("CAP_SYS_RAWIO", "iopl")]
    [InlineData("CAP_SYS_TIME", "settimeofday")]
    [InlineData("CAP_SYS_TTY_CONFIG", "vhangup")]
    [InlineData("CAP_SYS_NICE", "mbind")]
    [InlineData("CAP_SYSLOG", "syslog")]
    [InlineData("CAP_BPF", "bpf")]
    [InlineData("CAP_PERFMON", "perf_event_open")]
    [InlineData("CAP_DAC_READ_SEARCH", "open_by_handle_at")]
    public void A_capability_adds_its_calls(string capability, string syscall)
    {
        var without = SeccompFilter.Resolve(SeccompProfile.Default, DockerCapabilities, Amd64);
        var with = SeccompFilter.Resolve(SeccompProfile.Default, [.. DockerCapabilities, capability], Amd64);

        Assert.DoesNotContain(without.Rules, r => r.Syscall == syscall);
        Assert.Contains(with.Rules, r => r is { Action: "allow" } && r.Syscall == syscall);
    }

    [Fact]
    public void Dropping_CAP_SYS_CHROOT_takes_chroot_away()
    {
        var filter = SeccompFilter.Resolve(SeccompProfile.Default, [.. DockerCapabilities.Where(c => c != "CAP_SYS_CHROOT")], Amd64);

        Assert.DoesNotContain(filter.Rules, r => r.Syscall == "chroot");
    }

    [Fact]
    public void Ptrace_needs_kernel_4_8_without_CAP_SYS_PTRACE()
    {
        var old = SeccompFilter.Resolve(SeccompProfile.Default, DockerCapabilities, Amd64 with { Kernel = new Version(4, 4) });
        var current = SeccompFilter.Resolve(SeccompProfile.Default, DockerCapabilities, Amd64);

        Assert.DoesNotContain(old.Rules, r => r.Syscall == "ptrace");
        Assert.Contains(current.Rules, r => r.Syscall == "ptrace");
    }

    [Fact]
    public void Socket_is_allowed_for_every_family_but_vsock()
    {
        var filter = SeccompFilter.Resolve(SeccompProfile.Default, DockerCapabilities, Amd64);

        Assert.Equal(["0:ne:40:0"], Assert.Single(filter.Rules, r => r.Syscall == "socket").Conditions);
    }

    [Fact]
    public void Another_architecture_gets_its_own_companions()
    {
        var filter = SeccompFilter.Resolve(SeccompProfile.Default, DockerCapabilities, new SeccompPlatform("arm64", "SCMP_ARCH_AARCH64", new Version(6, 1)));

        Assert.Equal(["aarch64", "arm"], filter.Architectures);
        Assert.Contains(filter.Rules, r => r.Syscall == "cacheflush");
        Assert.DoesNotContain(filter.Rules, r => r.Syscall == "arch_prctl");
    }

    [Fact]
    public void Two_conditions_on_one_argument_make_one_rule_each()
    {
        var profile = SeccompProfile.Parse("""
            { "defaultAction": "SCMP_ACT_ERRNO",
              "syscalls": [ { "names": ["personality"], "action": "SCMP_ACT_ALLOW",
                              "args": [ { "index": 0, "value": 0, "op": "SCMP_CMP_EQ" }, { "index": 0, "value": 8, "op": "SCMP_CMP_EQ" } ] },
                            { "names": ["mmap"], "action": "SCMP_ACT_ALLOW",
                              "args": [ { "index": 0, "value": 0, "op": "SCMP_CMP_EQ" }, { "index": 2, "value": 4, "op": "SCMP_CMP_MASKED_EQ", "valueTwo": 0 } ] } ] }
            """);

        var filter = SeccompFilter.Resolve(profile, DockerCapabilities, Amd64);

        Assert.Equal([["0:eq:0:0"], ["0:eq:8:0"]], filter.Rules.Where(r => r.Syscall == "personality").Select(r => r.Conditions));
        Assert.Equal(["0:eq:0:0", "2:masked_eq:4:0"], Assert.Single(filter.Rules, r => r.Syscall == "mmap").Conditions);
    }

    [Fact]
    public void Field_names_match_case_insensitively_and_a_rule_as_the_default_is_left_out()
    {
        var profile = SeccompProfile.Parse("""
            { "DefaultAction": "SCMP_ACT_ERRNO", "defaulterrnoret": 13, "Architectures": ["SCMP_ARCH_X86_64"],
              "Syscalls": [ { "Name": "read", "Action": "SCMP_ACT_ALLOW" }, { "names": ["write"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 },
                            { "names": ["open"], "action": "SCMP_ACT_ERRNO" } ] }
            """);

        var filter = SeccompFilter.Resolve(profile, DockerCapabilities, Amd64);

        Assert.Equal("errno:13", filter.DefaultAction);
        Assert.Equal(["x86_64"], filter.Architectures);
        Assert.Equal([new SeccompFilter.Rule("allow", "read", []), new SeccompFilter.Rule("errno:1", "open", [])], filter.Rules);
    }

    [Theory]
    [InlineData("""{ "syscalls": [] }""", "no defaultAction")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_NOTIFY" }""", "SCMP_ACT_NOTIFY")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"], "archMap": [ { "architecture": "SCMP_ARCH_X86_64" } ] }""", "both 'architectures' and 'archMap'")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_Z80"] }""", "unrecognized architecture")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "name": "read", "names": ["write"], "action": "SCMP_ACT_ERRNO" } ] }""", "'name' and 'names'")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["read; rm"], "action": "SCMP_ACT_ERRNO" } ] }""", "not a system call name")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [ { "index": 6, "value": 1, "op": "SCMP_CMP_EQ" } ] } ] }""", "argument index 6")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ERRNO", "includes": { "minKernel": "four" } } ] }""", "invalid kernel version")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_NEW_LISTENER"] }""", "unsupported seccomp flag")]
    public void A_profile_that_is_not_valid_is_refused(string json, string message)
    {
        var error = Assert.Throws<ContainerConfigException>(() => SeccompFilter.Resolve(SeccompProfile.Parse(json), DockerCapabilities, Amd64));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("6.1.0-18-amd64", 6, 1)]
    [InlineData("6.18.44-fc-v1272", 6, 18)]
    [InlineData("4.8", 4, 8)]
    public void The_kernel_version_is_its_major_and_minor_numbers(string release, int major, int minor)
    {
        Assert.Equal(new Version(major, minor), SeccompPlatform.ParseKernel(release));
    }
}
