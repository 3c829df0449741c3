namespace Registry.E2E.Tests;

internal static class TestNames
{
    /// <summary>A repository name no other test uses: <c>e2e/PURPOSE-RANDOM</c>.</summary>
    public static string Repository(string purpose) => $"e2e/{purpose}-{Guid.NewGuid().ToString("N")[..10]}";

    /// <summary>A bound for one test, so a hung client or server fails the test instead of the run.</summary>
    public static CancellationTokenSource Timeout() => new(TimeSpan.FromMinutes(5));
}
