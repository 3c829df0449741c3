namespace Registry.Storage.Policies;

public enum PolicyError
{
    Invalid,
    NotFound,
    Conflict,
}

/// <summary>A refused change of a namespace's policies; the API and the UI show its message.</summary>
public sealed class PolicyException(PolicyError error, string message) : Exception(message)
{
    public PolicyError Error { get; } = error;
}
