namespace Registry.Storage.Gc;

/// <summary>
/// Crash points for recovery tests: when the environment variable <c>REGISTRY_GC_CRASH_AT</c> names a point, the
/// process ends there at once, as a power loss or kill -9 would end it. Unset in normal operation.
/// </summary>
internal static class GcFailpoint
{
    /// <summary>After the links of a blob were removed and committed, before its bytes are deleted.</summary>
    public const string AfterUnlink = "after-unlink";

    /// <summary>After a blob's bytes were deleted, before its record is removed.</summary>
    public const string AfterBytes = "after-bytes";

    private static readonly string? Armed = Environment.GetEnvironmentVariable("REGISTRY_GC_CRASH_AT");

    public static void Hit(string point)
    {
        if (Armed == point)
        {
            Environment.FailFast($"garbage collection stopped at {point} (REGISTRY_GC_CRASH_AT)");
        }
    }
}
