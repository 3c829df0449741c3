namespace Registry.Api.Identity;

/// <summary>Why an identity operation was refused; the REST API turns it into its error format.</summary>
public enum IdentityError
{
    Invalid,
    NotFound,
    Conflict,
    Denied,
}

public sealed class IdentityException(IdentityError error, string message) : Exception(message)
{
    public IdentityError Error { get; } = error;

    public static IdentityException Invalid(string message) => new(IdentityError.Invalid, message);

    public static IdentityException NotFound(string message) => new(IdentityError.NotFound, message);

    public static IdentityException Conflict(string message) => new(IdentityError.Conflict, message);

    public static IdentityException Denied(string message = "you may not do this") => new(IdentityError.Denied, message);
}
