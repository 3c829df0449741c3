using System.Text.Json;
using System.Text.Json.Serialization;

namespace Registry.Node.Runtime.Security;

/// <summary>
/// A seccomp profile in docker's JSON format (<c>docker run --security-opt seccomp=PROFILE.json</c>):
/// a default action, the architectures (a list, or a map from the native architecture to the ones it
/// also runs), and rules naming system calls with an action, optional argument conditions and
/// <c>includes</c>/<c>excludes</c> by capability, architecture and kernel version. Field names match
/// case-insensitively and unknown fields are ignored, as docker's decoder does.
/// <see cref="SeccompFilter.Resolve"/> turns it into the filter of one container.
/// </summary>
internal sealed record SeccompProfile
{
    public string? DefaultAction { get; init; }

    public uint? DefaultErrnoRet { get; init; }

    public IReadOnlyList<string>? Architectures { get; init; }

    public IReadOnlyList<SeccompArchMap>? ArchMap { get; init; }

    public IReadOnlyList<SeccompSyscallRule>? Syscalls { get; init; }

    /// <summary>SECCOMP_FILTER_FLAG_* names.</summary>
    public IReadOnlyList<string>? Flags { get; init; }

    /// <summary>The built-in profile (Runtime/Security/seccomp-default.json): docker's default in effect.</summary>
    public static SeccompProfile Default { get; } = LoadDefault();

    /// <exception cref="ContainerConfigException">Not JSON, or not a profile.</exception>
    public static SeccompProfile Parse(string json)
    {
        try
        {
            return JsonSerializer.Deserialize(json, SeccompProfileJson.Default.SeccompProfile)
                ?? throw new ContainerConfigException("Decoding seccomp profile failed: the profile is null");
        }
        catch (JsonException e)
        {
            throw new ContainerConfigException($"Decoding seccomp profile failed: {e.Message}");
        }
    }

    private static SeccompProfile LoadDefault()
    {
        using var stream = typeof(SeccompProfile).Assembly.GetManifestResourceStream("seccomp-default.json")
            ?? throw new InvalidOperationException("the built-in seccomp profile is missing from the assembly");
        using var reader = new StreamReader(stream);
        return Parse(reader.ReadToEnd());
    }
}

internal sealed record SeccompArchMap
{
    public string? Architecture { get; init; }

    public IReadOnlyList<string>? SubArchitectures { get; init; }
}

/// <summary>One entry of <c>syscalls</c>: the same action (and conditions) for each of its names.</summary>
internal sealed record SeccompSyscallRule
{
    /// <summary>The older single-name form; a rule has this or <see cref="Names"/>.</summary>
    public string? Name { get; init; }

    public IReadOnlyList<string>? Names { get; init; }

    public string? Action { get; init; }

    public uint? ErrnoRet { get; init; }

    /// <summary>Conditions on the arguments, all of which must hold (docker's rule when each names another argument).</summary>
    public IReadOnlyList<SeccompArgument>? Args { get; init; }

    public SeccompRuleFilter? Includes { get; init; }

    public SeccompRuleFilter? Excludes { get; init; }

    public string? Comment { get; init; }
}

internal sealed record SeccompArgument
{
    public uint Index { get; init; }

    public ulong Value { get; init; }

    public ulong ValueTwo { get; init; }

    public string? Op { get; init; }
}

/// <summary>When a rule applies (<c>includes</c>: all must hold) or does not (<c>excludes</c>: any excludes it).</summary>
internal sealed record SeccompRuleFilter
{
    public IReadOnlyList<string>? Caps { get; init; }

    /// <summary>Go's architecture names (amd64, arm64, ...), as docker uses here.</summary>
    public IReadOnlyList<string>? Arches { get; init; }

    /// <summary>"MAJOR.MINOR".</summary>
    public string? MinKernel { get; init; }
}

[JsonSourceGenerationOptions(PropertyNameCaseInsensitive = true, ReadCommentHandling = JsonCommentHandling.Disallow)]
[JsonSerializable(typeof(SeccompProfile))]
internal sealed partial class SeccompProfileJson : JsonSerializerContext;
