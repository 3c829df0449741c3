using System.Globalization;

namespace Registry.Node.Runtime;

public enum RestartKind
{
    No,
    OnFailure,
    Always,
}

/// <summary>docker's <c>--restart</c>: <c>no</c>, <c>on-failure[:N]</c> (N = 0: no limit) or <c>always</c>.</summary>
public sealed record RestartPolicy(RestartKind Kind, int MaxRetries = 0)
{
    public static RestartPolicy No { get; } = new(RestartKind.No);

    /// <exception cref="ContainerConfigException">Not one of docker's forms (unless-stopped is not supported).</exception>
    public static RestartPolicy Parse(string text)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var kind = colon < 0 ? text : text[..colon];
        var count = colon < 0 ? null : text[(colon + 1)..];
        switch (kind)
        {
            case "no" or "always" when count is null:
                return kind == "no" ? No : new RestartPolicy(RestartKind.Always);
            case "on-failure" when count is null:
                return new RestartPolicy(RestartKind.OnFailure);
            case "on-failure" when int.TryParse(count, NumberStyles.None, CultureInfo.InvariantCulture, out var max):
                return new RestartPolicy(RestartKind.OnFailure, max);
            default:
                throw new ContainerConfigException($"invalid restart policy '{text}' (no, on-failure[:N] or always)");
        }
    }

    /// <summary>The form rn-init's <c>--restart</c> and config.json take.</summary>
    public override string ToString() => Kind switch
    {
        RestartKind.Always => "always",
        RestartKind.OnFailure => MaxRetries > 0 ? string.Create(CultureInfo.InvariantCulture, $"on-failure:{MaxRetries}") : "on-failure",
        _ => "no",
    };
}
