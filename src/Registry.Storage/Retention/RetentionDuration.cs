using System.Globalization;

namespace Registry.Storage.Retention;

/// <summary>A duration as policies spell it: a whole number and a unit, m (minutes), h, d or w ("100h", "30d").</summary>
public static class RetentionDuration
{
    /// <summary>Longer durations are refused: nothing in a registry is kept for more than a century on purpose.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromDays(36_500);

    public static bool TryParse(string? text, out TimeSpan duration)
    {
        duration = default;
        if (string.IsNullOrEmpty(text) || text.Length < 2 || text.Length > 12)
        {
            return false;
        }

        var unit = text[^1] switch
        {
            'm' => TimeSpan.FromMinutes(1),
            'h' => TimeSpan.FromHours(1),
            'd' => TimeSpan.FromDays(1),
            'w' => TimeSpan.FromDays(7),
            _ => TimeSpan.Zero,
        };
        var digits = text.AsSpan(0, text.Length - 1);
        if (unit == TimeSpan.Zero || !digits.ContainsOnlyDigits()
            || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var count) || count <= 0
            || count > Max.Ticks / unit.Ticks)
        {
            return false;
        }

        duration = unit * count;
        return true;
    }

    public static TimeSpan Parse(string text) =>
        TryParse(text, out var duration) ? duration : throw new FormatException($"'{text}' is not a duration");

    private static bool ContainsOnlyDigits(this ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return text.Length > 0;
    }
}
