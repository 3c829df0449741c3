using System.ComponentModel.DataAnnotations;

namespace Registry.Storage.Services;

/// <summary>Bound from <c>Registry:Storage</c>.</summary>
public sealed class RegistryStorageOptions
{
    public const string Section = "Registry:Storage";

    /// <summary>Where blobs live: the data directory (the default) or an S3 bucket (<c>Registry:Storage:S3</c>).</summary>
    public BlobStoreProvider Provider { get; set; } = BlobStoreProvider.FileSystem;

    /// <summary>The visibility of a repository created by its first push.</summary>
    public RepositoryVisibility DefaultVisibility { get; set; } = RepositoryVisibility.Private;

    /// <summary>Whether DELETE of manifests, tags and blobs is allowed.</summary>
    public bool DeleteEnabled { get; set; } = true;

    /// <summary>Upload sessions untouched for this long are removed with their staged bytes.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan UploadExpiry { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often expired uploads are looked for.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan UploadPurgeInterval { get; set; } = TimeSpan.FromHours(1);
}

public enum RepositoryVisibility
{
    Private,
    Public,
}

public enum BlobStoreProvider
{
    FileSystem,
    S3,
}

public enum DatabaseProvider
{
    Sqlite,
    Postgres,
}

/// <summary>Bound from <c>Registry:Database</c>.</summary>
public sealed class DatabaseOptions
{
    public const string Section = "Registry:Database";

    public DatabaseProvider Provider { get; set; } = DatabaseProvider.Sqlite;

    /// <summary>For SQLite, defaults to <c>registry.db</c> in the data directory.</summary>
    public string? ConnectionString { get; set; }
}
