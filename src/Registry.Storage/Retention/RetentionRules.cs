using Registry.Core;

namespace Registry.Storage.Retention;

/// <summary>A policy as a user submits it (API body or UI form); every field is checked by <see cref="RetentionRules.Validate"/>.</summary>
public sealed record RetentionPolicyInput(
    string? Repository,
    string? TagPattern,
    int? KeepMostRecent,
    string? KeepYoungerThan,
    string? KeepPulledWithin,
    string? UntaggedOlderThan,
    string? Schedule,
    bool? Enabled);

/// <summary>A policy's rules, parsed: what a run evaluates.</summary>
public sealed record RetentionRuleSet(
    string Namespace,
    string? Repository,
    TagGlob Pattern,
    int? KeepMostRecent,
    TimeSpan? KeepYoungerThan,
    TimeSpan? KeepPulledWithin,
    TimeSpan? UntaggedOlderThan)
{
    public bool HasTagRules => KeepMostRecent is not null || KeepYoungerThan is not null || KeepPulledWithin is not null;

    public static RetentionRuleSet Of(RetentionPolicyEntity policy) => new(
        policy.Namespace,
        policy.Repository,
        TagGlob.TryParse(policy.TagPattern, out _) ?? throw new InvalidOperationException($"policy {policy.Id} has an invalid pattern"),
        policy.KeepMostRecent,
        Duration(policy.KeepYoungerThan),
        Duration(policy.KeepPulledWithin),
        Duration(policy.UntaggedOlderThan));

    private static TimeSpan? Duration(string? text) => text is null ? null : RetentionDuration.Parse(text);
}

/// <summary>Checks a submitted policy; a refusal says which field is wrong and what would be right.</summary>
public static class RetentionRules
{
    public const int MaxPatternLength = 256;

    public const int MaxKeepMostRecent = 1_000_000;

    public static readonly IReadOnlyList<string> Schedules = ["hourly", "daily", "weekly"];

    public static TimeSpan ScheduleInterval(string schedule) => schedule switch
    {
        "hourly" => TimeSpan.FromHours(1),
        "daily" => TimeSpan.FromDays(1),
        "weekly" => TimeSpan.FromDays(7),
        _ => throw new ArgumentOutOfRangeException(nameof(schedule), schedule, "unknown schedule"),
    };

    /// <summary>Null when the input is a valid policy of <paramref name="ns"/>, otherwise why it is not.</summary>
    public static string? Validate(string ns, RetentionPolicyInput input)
    {
        if (input.Repository is { } repository)
        {
            if (RepositoryName.Validate(repository) is { } error)
            {
                return $"repository: {error}";
            }

            if (RepositoryName.NamespaceOf(repository) != ns)
            {
                return $"repository: '{repository}' is not in the namespace '{ns}'";
            }
        }

        var pattern = input.TagPattern ?? "*";
        if (pattern.Length is 0 or > MaxPatternLength)
        {
            return $"tagPattern: must be 1 to {MaxPatternLength} characters";
        }

        if (TagGlob.TryParse(pattern, out var globError) is null)
        {
            return $"tagPattern: {globError}";
        }

        if (input.KeepMostRecent is { } n && (n <= 0 || n > MaxKeepMostRecent))
        {
            return $"keepMostRecent: must be a whole number from 1 to {MaxKeepMostRecent}";
        }

        foreach (var (name, value) in new[]
        {
            ("keepYoungerThan", input.KeepYoungerThan),
            ("keepPulledWithin", input.KeepPulledWithin),
            ("untaggedOlderThan", input.UntaggedOlderThan),
        })
        {
            if (value is not null && !RetentionDuration.TryParse(value, out _))
            {
                return $"{name}: '{value}' is not a duration; write a positive whole number and a unit m, h, d or w (\"100h\", \"30d\")";
            }
        }

        if (input.KeepMostRecent is null && input.KeepYoungerThan is null && input.KeepPulledWithin is null && input.UntaggedOlderThan is null)
        {
            return "the policy has no rule: set keepMostRecent, keepYoungerThan, keepPulledWithin or untaggedOlderThan";
        }

        if (input.Schedule is { } schedule && !Schedules.Contains(schedule))
        {
            return $"schedule: '{schedule}' is not one of hourly, daily, weekly (or null for manual runs only)";
        }

        return null;
    }

    /// <summary>Empty strings from a form mean "not set".</summary>
    public static RetentionPolicyInput Normalize(RetentionPolicyInput input) => input with
    {
        Repository = Blank(input.Repository),
        TagPattern = Blank(input.TagPattern),
        KeepYoungerThan = Blank(input.KeepYoungerThan),
        KeepPulledWithin = Blank(input.KeepPulledWithin),
        UntaggedOlderThan = Blank(input.UntaggedOlderThan),
        Schedule = Blank(input.Schedule),
    };

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
