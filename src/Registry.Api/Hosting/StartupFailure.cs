using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Registry.Api.Security;
using Registry.Storage.Blobs.S3;

namespace Registry.Api.Hosting;

/// <summary>
/// Start-up failures that are the operator's to fix (an invalid setting, an unusable key-encryption key or data
/// directory, an S3 bucket that cannot be reached or created) become one line on standard error and exit code 1, not an unhandled-exception stack trace.
/// </summary>
public static partial class StartupFailure
{
    public const int ExitCode = 1;

    /// <summary>The one-line explanation of <paramref name="exception"/>, or null when it is not such a failure (a bug).</summary>
    public static string? Describe(Exception exception) => exception switch
    {
        OptionsValidationException invalid => Describe(invalid),
        AggregateException { InnerExceptions: var inner } when inner.Count > 0 && inner.All(e => e is OptionsValidationException) =>
            string.Join("; ", inner.Cast<OptionsValidationException>().Select(Describe)),
        InvalidOperationException { InnerException: FormatException or InvalidCastException or OverflowException or ArgumentException } unconvertible
            when unconvertible.Message.StartsWith("Failed to convert configuration value", StringComparison.Ordinal) =>
            $"invalid setting: {unconvertible.Message}",
        KeyProtectionException or DataDirectoryException => exception.Message,
        S3Exception s3 => $"blob store: {s3.Message}",
        _ => null,
    };

    /// <summary>Writes the failure's line, prefixed with the program's name.</summary>
    public static int Report(string problem)
    {
        Console.Error.WriteLine($"registry: {problem}");
        return ExitCode;
    }

    /// <summary>
    /// "invalid setting Registry:Auth:TokenLifetime: The field TokenLifetime must be between …" for each failure; the
    /// section comes from the options class's <c>Section</c> constant.
    /// </summary>
    private static string Describe(OptionsValidationException invalid)
    {
        var section = invalid.OptionsType.GetField("Section")?.GetRawConstantValue() as string;
        return string.Join("; ", invalid.Failures.Select(failure =>
        {
            var annotation = DataAnnotationFailure().Match(failure);
            return annotation.Success
                ? $"invalid setting {(section is null ? string.Empty : section + ":")}{annotation.Groups["member"].Value}: {annotation.Groups["error"].Value}"
                : $"invalid settings{(section is null ? string.Empty : " in " + section)}: {failure}";
        }));
    }

    // The text ValidateDataAnnotations writes for each failing member.
    [GeneratedRegex("members: '(?<member>[^']+)' with the error: '(?<error>.*)'\\.?$", RegexOptions.Singleline)]
    private static partial Regex DataAnnotationFailure();
}
