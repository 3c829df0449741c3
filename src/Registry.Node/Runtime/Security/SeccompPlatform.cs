using System.Globalization;
using System.Runtime.InteropServices;

namespace Registry.Node.Runtime.Security;

/// <summary>
/// What a profile's rules are resolved against besides the capabilities: the native architecture,
/// by Go's name (a rule's <c>arches</c>) and libseccomp's (<c>archMap</c>), and the kernel's version
/// (<c>minKernel</c>).
/// </summary>
internal sealed record SeccompPlatform(string GoArch, string ScmpArch, Version Kernel)
{
    /// <summary>This machine: the process's architecture and <c>/proc/sys/kernel/osrelease</c>.</summary>
    public static SeccompPlatform Host { get; } = new(
        GoArchOf(RuntimeInformation.ProcessArchitecture),
        ScmpArchOf(RuntimeInformation.ProcessArchitecture),
        ParseKernel(File.Exists("/proc/sys/kernel/osrelease") ? File.ReadAllText("/proc/sys/kernel/osrelease") : "0.0"));

    /// <summary>"6.1.0-18-amd64" is 6.1: the kernel's major and minor numbers, as docker compares them.</summary>
    internal static Version ParseKernel(string release)
    {
        var numbers = release.Trim().Split('.', '-', '+', '_').Take(2)
            .Select(p => int.TryParse(p, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0)
            .ToArray();
        return new Version(numbers.ElementAtOrDefault(0), numbers.ElementAtOrDefault(1));
    }

    private static string GoArchOf(Architecture architecture) => architecture switch
    {
        Architecture.X64 => "amd64",
        Architecture.X86 => "386",
        Architecture.Arm64 => "arm64",
        Architecture.Arm or Architecture.Armv6 => "arm",
        Architecture.S390x => "s390x",
        Architecture.Ppc64le => "ppc64le",
        Architecture.RiscV64 => "riscv64",
        Architecture.LoongArch64 => "loong64",
        _ => architecture.ToString().ToLowerInvariant(),
    };

    private static string ScmpArchOf(Architecture architecture) => architecture switch
    {
        Architecture.X64 => "SCMP_ARCH_X86_64",
        Architecture.X86 => "SCMP_ARCH_X86",
        Architecture.Arm64 => "SCMP_ARCH_AARCH64",
        Architecture.Arm or Architecture.Armv6 => "SCMP_ARCH_ARM",
        Architecture.S390x => "SCMP_ARCH_S390X",
        Architecture.Ppc64le => "SCMP_ARCH_PPC64LE",
        Architecture.RiscV64 => "SCMP_ARCH_RISCV64",
        _ => "SCMP_ARCH_" + architecture.ToString().ToUpperInvariant(),
    };
}
