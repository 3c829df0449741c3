namespace Registry.Api.Identity;

/// <summary>Why an identity operation was refused; the REST API turns it into its error format.</summary>
public enum IdentityError
{
    Invalid,
    NotFound,
    Conflict,
    Denied,

    /// <summary>Too many attempts; <see cref="IdentityException.RetryAfter"/> says how long to wait.</summary>
    TooManyRequests,
}

public sealed class IdentityException(IdentityError error, string message, TimeSpan? retryAfter = null) : Exception(message)
{
    public IdentityError Error { get; } = error;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    public static IdentityException Invalid(string message) => new(IdentityError.Invalid, message);

    public static IdentityException NotFound(string message) => new(IdentityError.NotFound, message);

    public static IdentityException Conflict(string message) => new(IdentityError.Conflict, message);

    public static IdentityException Denied(string message = "you may not do this") => new(IdentityError.Denied, message);

    public static IdentityException TooManyRequests(string message, TimeSpan retryAfter) => new(IdentityError.TooManyRequests, message, retryAfter);

    /// <summary>Throws the refusal of a password check: throttled, or simply wrong.</summary>
    public static void ThrowIfRefused(LoginResult check, string wrong)
    {
        if (check.RetryAfter is { } wait)
        {
            throw TooManyRequests(check.Error!, wait);
        }

        if (!check.Succeeded)
        {
            throw Denied(wrong);
        }
    }
}
