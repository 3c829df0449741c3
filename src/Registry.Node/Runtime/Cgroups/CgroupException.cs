namespace Registry.Node.Runtime.Cgroups;

/// <summary>A cgroup could not be created, configured, queried or removed.</summary>
public sealed class CgroupException : Exception
{
    public CgroupException(string message) : base(message)
    {
    }

    public CgroupException(string message, Exception inner) : base(message, inner)
    {
    }

    public CgroupException()
    {
    }
}

/// <summary>Limits were refused by validation, before anything on the host was touched.</summary>
public sealed class InvalidCgroupLimitsException : ArgumentException
{
    public InvalidCgroupLimitsException(IReadOnlyList<string> problems)
        : base("invalid resource limits: " + string.Join("; ", problems)) => Problems = problems;

    public InvalidCgroupLimitsException() : this(Array.Empty<string>())
    {
    }

    public InvalidCgroupLimitsException(string message) : base(message) => Problems = [message];

    public InvalidCgroupLimitsException(string message, Exception inner) : base(message, inner) => Problems = [message];

    public IReadOnlyList<string> Problems { get; }
}
