namespace Registry.Storage.Blobs;

/// <summary>Upload ids are 32 lowercase hex characters (a GUID's "N" format), so they are safe path segments.</summary>
public static class UploadId
{
    public static string New() => Guid.NewGuid().ToString("N");

    public static bool IsValid(string? id) =>
        id is { Length: 32 } && id.All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f'));
}
