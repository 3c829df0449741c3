using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Registry.Api.Identity;

namespace Registry.Api.Nodes;

/// <summary>The body of <c>POST /api/v1/containers</c>, as sent.</summary>
public sealed record ContainerBody(
    string? Image,
    string? Name,
    List<string>? Command,
    JsonElement? Env,
    List<string>? Ports,
    List<string>? Volumes,
    JsonElement? Memory,
    double? Cpus,
    int? Pids,
    string? Restart,
    string? Node,
    Dictionary<string, string>? Selector);

/// <summary>A container's settings, checked whole before anything is stored or placed.</summary>
public sealed record ContainerSpec(
    string Image,
    string? Name,
    IReadOnlyList<string>? Command,
    IReadOnlyList<string> Env,
    IReadOnlyList<string> Ports,
    IReadOnlyList<string> Volumes,
    long? Memory,
    double? Cpus,
    int? Pids,
    string Restart,
    string? Node,
    IReadOnlyDictionary<string, string> Selector)
{
    public const int MaxEntries = 1000;

    /// <summary>Whether a volume is a bind mount of a host path (<c>/host/path:/path</c>), which only administrators may ask for.</summary>
    public bool HasBindMount => Volumes.Any(v => v.StartsWith('/'));

    public static ContainerSpec Parse(ContainerBody body)
    {
        if (string.IsNullOrWhiteSpace(body.Image))
        {
            throw IdentityException.Invalid("image is required (e.g. team/app:1)");
        }

        if (body.Name is { } name && !ContainerRules.Name().IsMatch(name))
        {
            throw IdentityException.Invalid($"'{name}' is not a container name: up to 128 letters, digits, '_', '.' and '-', starting with a letter or digit");
        }

        if (body.Node is { } node)
        {
            NodeRules.CheckName(node);
        }

        var command = body.Command is null ? null : CheckStrings(body.Command, "command");
        var env = CheckStrings(ParseEnv(body.Env), "env");
        if (env.FirstOrDefault(e => e.IndexOf('=', StringComparison.Ordinal) <= 0) is { } badEnv)
        {
            throw IdentityException.Invalid($"env entry '{badEnv}' must read NAME=VALUE");
        }

        var ports = CheckStrings(body.Ports ?? [], "ports").Select(ParsePort).ToList();
        var volumes = CheckStrings(body.Volumes ?? [], "volumes").Select(CheckVolume).ToList();
        if (body.Cpus is { } cpus && (cpus <= 0 || cpus > 1024 || double.IsNaN(cpus)))
        {
            throw IdentityException.Invalid("cpus must be more than 0 and at most 1024");
        }

        if (body.Pids is <= 0)
        {
            throw IdentityException.Invalid("pids must be at least 1");
        }

        var restart = body.Restart ?? "no";
        if (!ContainerRules.Restart().IsMatch(restart))
        {
            throw IdentityException.Invalid($"restart '{restart}' must be no, always, on-failure[:N] or unless-stopped");
        }

        var selector = NodeRules.CheckLabels(body.Selector, "selector labels");
        return new ContainerSpec(body.Image.Trim(), body.Name, command, env, ports, volumes, ParseMemory(body.Memory), body.Cpus, body.Pids, restart, body.Node, selector);
    }

    /// <summary><c>268435456</c>, or <c>256m</c>-style text: a number with b, k, m or g (binary units).</summary>
    public static long? ParseMemory(JsonElement? memory)
    {
        var value = memory ?? default;
        switch (value.ValueKind)
        {
            case JsonValueKind.Undefined or JsonValueKind.Null:
                return null;
            case JsonValueKind.Number when value.TryGetInt64(out var bytes) && bytes > 0:
                return bytes;
            case JsonValueKind.String:
                var match = ContainerRules.Memory().Match(value.GetString()!);
                if (match.Success && decimal.TryParse(match.Groups[1].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var amount))
                {
                    var unit = match.Groups[2].Value.ToLowerInvariant() switch
                    {
                        "k" => 1L << 10,
                        "m" => 1L << 20,
                        "g" => 1L << 30,
                        _ => 1L,
                    };
                    var total = amount * unit;
                    if (total >= 1 && total <= long.MaxValue / 2)
                    {
                        return (long)total;
                    }
                }

                break;
        }

        throw IdentityException.Invalid("memory must be a number of bytes or a size such as 256m or 2g");
    }

    private static List<string> ParseEnv(JsonElement? env)
    {
        var value = env ?? default;
        return value.ValueKind switch
        {
            JsonValueKind.Undefined or JsonValueKind.Null => [],
            JsonValueKind.Array when value.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String) =>
                value.EnumerateArray().Select(e => e.GetString()!).ToList(),
            JsonValueKind.Object when value.EnumerateObject().All(p => p.Value.ValueKind == JsonValueKind.String) =>
                value.EnumerateObject().Select(p => $"{p.Name}={p.Value.GetString()}").ToList(),
            _ => throw IdentityException.Invalid("env must be a list of \"NAME=VALUE\" or an object of strings"),
        };
    }

    private static List<string> CheckStrings(List<string> values, string what)
    {
        if (values.Count > MaxEntries)
        {
            throw IdentityException.Invalid($"{what}: at most {MaxEntries} entries");
        }

        if (values.Any(v => v is null || v.Contains('\0', StringComparison.Ordinal)))
        {
            throw IdentityException.Invalid($"{what}: entries must be strings without NUL characters");
        }

        return values;
    }

    /// <summary><c>[127.0.0.1:]HOSTPORT:CONTAINERPORT[/tcp]</c>, as the agent publishes ports (on loopback, tcp), kept with its protocol.</summary>
    private static string ParsePort(string port)
    {
        var match = ContainerRules.Port().Match(port);
        if (!match.Success || !IsPort(match.Groups["host"].Value) || !IsPort(match.Groups["container"].Value))
        {
            throw IdentityException.Invalid($"port '{port}' must read [127.0.0.1:]HOSTPORT:CONTAINERPORT[/tcp], ports 1 to 65535 (published on the node's 127.0.0.1)");
        }

        return match.Groups["proto"].Success ? port : port + "/tcp";
    }

    private static bool IsPort(string text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is >= 1 and <= 65535;

    /// <summary><c>NAME:/path[:ro|rw]</c> (a named volume of the node) or <c>/host/path:/path[:ro|rw]</c> (a bind mount).</summary>
    private static string CheckVolume(string volume)
    {
        var parts = volume.Split(':');
        var valid = parts.Length is 2 or 3
            && (parts[0].StartsWith('/') ? parts[0].Split('/').All(p => p is not ("." or "..")) : ContainerRules.VolumeName().IsMatch(parts[0]))
            && parts[1].StartsWith('/') && parts[1].TrimEnd('/').Length > 0 && parts[1].Split('/').All(p => p is not ("." or ".."))
            && (parts.Length == 2 || parts[2] is "ro" or "rw");
        return valid
            ? volume
            : throw IdentityException.Invalid($"volume '{volume}' must read NAME:/path[:ro|rw] or /host/path:/path[:ro|rw] (an absolute path other than /, without . or ..)");
    }
}

internal static partial class ContainerRules
{
    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    public static partial Regex Name();

    [GeneratedRegex("^(no|always|unless-stopped|on-failure(:[0-9]{1,6})?)$")]
    public static partial Regex Restart();

    [GeneratedRegex("^([0-9]+(?:\\.[0-9]+)?)([bkmgBKMG]?)$")]
    public static partial Regex Memory();

    [GeneratedRegex("^(?:(?:127\\.0\\.0\\.1|localhost):)?(?<host>[0-9]{1,5}):(?<container>[0-9]{1,5})(?<proto>/tcp)?$")]
    public static partial Regex Port();

    [GeneratedRegex("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")]
    public static partial Regex VolumeName();
}
