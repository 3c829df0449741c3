using System.Globalization;
using System.Text;
using System.Text.Json;
using Registry.Node.Runtime;

namespace Registry.Node.Cli;

/// <summary><c>ps</c>'s table and <c>inspect</c>'s JSON for containers, in docker's layout.</summary>
internal static class ContainerTable
{
    private static readonly string[] Header = ["CONTAINER ID", "IMAGE", "COMMAND", "CREATED", "STATUS", "NAMES"];

    public static string Format(IEnumerable<ContainerView> containers, DateTimeOffset now)
    {
        var rows = new List<string[]> { Header };
        foreach (var container in containers.OrderByDescending(c => c.Config.Created))
        {
            rows.Add(
            [
                container.Id[..12],
                container.Config.Image,
                $"\"{Truncate(string.Join(' ', container.Config.Args), 20)}\"",
                $"{HumanDuration(now - container.Config.Created)} ago",
                Status(container.State, now),
                container.Config.Name,
            ]);
        }

        var widths = Enumerable.Range(0, Header.Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        var text = new StringBuilder();
        foreach (var row in rows)
        {
            text.AppendLine(string.Join("   ", row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]))).TrimEnd());
        }

        return text.ToString();
    }

    /// <summary>docker's STATUS column: "Created", "Up 3 seconds", "Restarting (1) 2 seconds ago", "Exited (3) 5 seconds ago".</summary>
    internal static string Status(ContainerStateFile state, DateTimeOffset now) => state.Status switch
    {
        ContainerStatus.Running => $"Up {HumanDuration(now - (state.StartedAt ?? now))}",
        ContainerStatus.Restarting => string.Create(CultureInfo.InvariantCulture, $"Restarting ({state.ExitCode}) {HumanDuration(now - (state.FinishedAt ?? now))} ago"),
        ContainerStatus.Exited => string.Create(CultureInfo.InvariantCulture, $"Exited ({state.ExitCode}) {HumanDuration(now - (state.FinishedAt ?? now))} ago"),
        _ => "Created",
    };

    /// <summary>docker's (go-units') HumanDuration.</summary>
    internal static string HumanDuration(TimeSpan d)
    {
        var seconds = (long)d.TotalSeconds;
        var hours = (long)d.TotalHours;
        return seconds switch
        {
            < 1 => "Less than a second",
            1 => "1 second",
            < 60 => Invariant($"{seconds} seconds"),
            _ when d.TotalMinutes < 60 => (long)d.TotalMinutes == 1 ? "About a minute" : Invariant($"{(long)d.TotalMinutes} minutes"),
            _ when hours < 48 => hours == 1 ? "About an hour" : Invariant($"{hours} hours"),
            _ when hours < 24 * 7 * 2 => Invariant($"{hours / 24} days"),
            _ when hours < 24 * 30 * 2 => Invariant($"{hours / 24 / 7} weeks"),
            _ when hours < 24 * 365 * 2 => Invariant($"{hours / 24 / 30} months"),
            _ => Invariant($"{hours / 24 / 365} years"),
        };
    }

    /// <summary><c>inspect</c>'s JSON: an array with the container's id, name, image, config and state.</summary>
    public static string ToJson(ContainerView container)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartArray();
            json.WriteStartObject();
            json.WriteString("Id", container.Id);
            json.WriteString("Name", container.Config.Name);
            json.WriteString("Image", container.Config.Image);
            json.WriteString("Created", container.Config.Created);
            json.WriteNumber("RestartCount", container.State.RestartCount);
            json.WritePropertyName("Config");
            JsonSerializer.Serialize(json, container.Config, ContainerJson.Default.ContainerConfigFile);
            WriteHostConfig(json, container.Config);
            json.WritePropertyName("State");
            JsonSerializer.Serialize(json, container.State, ContainerJson.Default.ContainerStateFile);
            json.WriteString("LogPath", container.Paths.LogFile);
            json.WriteEndObject();
            json.WriteEndArray();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    /// <summary>docker's HostConfig, for the settings registry-node has: null where docker shows null.</summary>
    private static void WriteHostConfig(Utf8JsonWriter json, ContainerConfigFile config)
    {
        json.WriteStartObject("HostConfig");
        WriteList(json, "CapAdd", config.CapAdd);
        WriteList(json, "CapDrop", config.CapDrop);
        json.WriteBoolean("ReadonlyRootfs", config.ReadonlyRootfs);
        WriteList(json, "SecurityOpt", config.SecurityOpt);
        json.WriteString("UsernsMode", config.UsernsMode ?? "");
        json.WriteEndObject();
    }

    private static void WriteList(Utf8JsonWriter json, string name, IReadOnlyList<string>? values)
    {
        json.WritePropertyName(name);
        if (values is null)
        {
            json.WriteNullValue();
            return;
        }

        json.WriteStartArray();
        foreach (var value in values)
        {
            json.WriteStringValue(value);
        }

        json.WriteEndArray();
    }

    private static string Truncate(string text, int length) => text.Length <= length ? text : text[..(length - 1)] + "…";

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
