namespace Registry.Api.Tests.Infrastructure;

/// <summary>Repository names no other test uses, so tests never see each other's data.</summary>
internal static class Names
{
    public static string Unique(string area) => $"{area}/{Guid.NewGuid().ToString("N")[..12]}";
}
