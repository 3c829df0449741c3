using System.Globalization;
using System.Text.RegularExpressions;
using Registry.Api.Identity;

namespace Registry.Api.Nodes;

/// <summary>The grammar of node names, labels and durations such as <c>1h30m</c>, with refusals in the API's terms.</summary>
public static partial class NodeRules
{
    public const int MaxLabels = 64;
    public static readonly TimeSpan MaxJoinTokenLifetime = TimeSpan.FromDays(30);

    /// <summary>
    /// A DNS label: 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit; not
    /// <c>join</c> or <c>join-tokens</c>, which are routes beside <c>/api/v1/nodes/NAME</c>.
    /// </summary>
    public static bool IsValidName(string? name) =>
        name is { Length: >= 1 and <= 63 } and not ("join" or "join-tokens") && DnsLabel().IsMatch(name);

    public static void CheckName(string? name)
    {
        if (!IsValidName(name))
        {
            throw IdentityException.Invalid(
                $"'{name}' is not a node name: 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit (not join or join-tokens)");
        }
    }

    /// <summary>Kubernetes' label rules: <c>[prefix/]name</c> keys, values of at most 63 characters, at most 64 labels.</summary>
    public static Dictionary<string, string> CheckLabels(IReadOnlyDictionary<string, string>? labels, string what = "labels")
    {
        var checkedLabels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (labels is null)
        {
            return checkedLabels;
        }

        if (labels.Count > MaxLabels)
        {
            throw IdentityException.Invalid($"at most {MaxLabels} {what}");
        }

        foreach (var (key, value) in labels)
        {
            if (!IsValidLabelKey(key))
            {
                throw IdentityException.Invalid(
                    $"'{key}' is not a label key: up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit, optionally behind a DNS prefix and '/'");
            }

            if (value is null || !IsValidLabelValue(value))
            {
                throw IdentityException.Invalid(
                    $"the value of label '{key}' must be up to 63 letters, digits, '-', '_' and '.', starting and ending with a letter or digit");
            }

            checkedLabels[key] = value;
        }

        return checkedLabels;
    }

    public static bool IsValidLabelKey(string key)
    {
        var slash = key.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            var prefix = key[..slash];
            if (prefix.Length is 0 or > 253 || !prefix.Split('.').All(p => p.Length <= 63 && DnsLabel().IsMatch(p)))
            {
                return false;
            }

            key = key[(slash + 1)..];
        }

        return key.Length is >= 1 and <= 63 && LabelName().IsMatch(key);
    }

    public static bool IsValidLabelValue(string value) => value.Length == 0 || (value.Length <= 63 && LabelName().IsMatch(value));

    /// <summary>
    /// <c>90s</c>, <c>30m</c>, <c>12h</c>, <c>7d</c> or combinations (<c>1h30m</c>); null when malformed or zero.
    /// </summary>
    public static TimeSpan? ParseDuration(string? text)
    {
        if (string.IsNullOrEmpty(text) || !Duration().IsMatch(text))
        {
            return null;
        }

        var total = TimeSpan.Zero;
        foreach (Match part in DurationPart().Matches(text))
        {
            if (!long.TryParse(part.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 1_000_000)
            {
                return null;
            }

            total += part.Groups[2].Value switch
            {
                "s" => TimeSpan.FromSeconds(n),
                "m" => TimeSpan.FromMinutes(n),
                "h" => TimeSpan.FromHours(n),
                _ => TimeSpan.FromDays(n),
            };
        }

        return total > TimeSpan.Zero ? total : null;
    }

    [GeneratedRegex("^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")]
    private static partial Regex DnsLabel();

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?$")]
    private static partial Regex LabelName();

    [GeneratedRegex("^([0-9]+[smhd])+$")]
    private static partial Regex Duration();

    [GeneratedRegex("([0-9]+)([smhd])")]
    private static partial Regex DurationPart();
}
