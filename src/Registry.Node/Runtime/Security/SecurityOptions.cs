using System.Text.Json;

namespace Registry.Node.Runtime.Security;

/// <summary>
/// <c>--security-opt</c> values, as docker takes them: <c>seccomp=unconfined</c>, <c>seccomp=PROFILE.json</c>
/// (the CLI puts the file's JSON in place of its path, as docker's does, so the container's settings hold
/// the profile itself and <c>inspect</c> shows it) and <c>no-new-privileges[=true|false]</c>.
/// </summary>
internal sealed record SecurityOptions(bool SeccompUnconfined, string? SeccompProfileJson, bool NoNewPrivileges)
{
    private const string NoNewPrivilegesKey = "no-new-privileges";

    private const string Seccomp = "seccomp";
    private const string Unconfined = "unconfined";

    /// <exception cref="ContainerConfigException">An option this runtime does not know.</exception>
    public static SecurityOptions Parse(IEnumerable<string> options)
    {
        var result = new SecurityOptions(false, null, false);
        foreach (var option in options)
        {
            var (key, value) = Split(option);
            result = key switch
            {
                Seccomp when value == Unconfined => result with { SeccompUnconfined = true, SeccompProfileJson = null },
                Seccomp when value.StartsWith('{') => result with { SeccompUnconfined = false, SeccompProfileJson = value },
                NoNewPrivilegesKey when value is "" or "true" => result with { NoNewPrivileges = true },
                NoNewPrivilegesKey when value is "false" => result with { NoNewPrivileges = false },
                _ => throw new ContainerConfigException($"invalid --security-opt: \"{option}\""),
            };
        }

        return result;
    }

    /// <summary>
    /// Replaces <c>seccomp=PATH</c> with <c>seccomp=JSON</c>, the file's content made compact, as docker's
    /// CLI does before it sends the options; a file that is missing or not JSON fails here.
    /// </summary>
    /// <exception cref="ContainerConfigException"/>
    public static IReadOnlyList<string> LoadProfileFiles(IEnumerable<string> options) =>
    [
        .. options.Select(option =>
        {
            var (key, value) = Split(option);
            if (key != Seccomp || value == Unconfined)
            {
                return option;
            }

            byte[] content;
            try
            {
                content = File.ReadAllBytes(value);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                throw new ContainerConfigException($"opening seccomp profile ({value}) failed: {e.Message}");
            }

            return $"{Seccomp}={Compact(content, value)}";
        }),
    ];

    private static string Compact(byte[] content, string path)
    {
        try
        {
            using var document = JsonDocument.Parse(content);
            using var buffer = new MemoryStream();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                document.WriteTo(writer);
            }

            return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
        }
        catch (JsonException e)
        {
            throw new ContainerConfigException($"compacting json for seccomp profile ({path}) failed: {e.Message}");
        }
    }

    // docker accepts KEY=VALUE and the older KEY:VALUE.
    private static (string Key, string Value) Split(string option)
    {
        var separator = option.IndexOfAny(['=', ':']);
        return separator < 0 ? (option, "") : (option[..separator], option[(separator + 1)..]);
    }
}
