using System.IO.Pipelines;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core;
using Registry.Storage.Services;
using Registry.Testing;

namespace Registry.Storage.Tests;

/// <summary>The embedded default's database and blobs are created for the registry's user only, whatever the umask.</summary>
public sealed class DataDirectoryModeTests : IDisposable
{
    private readonly TemporaryDirectory _parent = new("registry-modes");

    public void Dispose() => _parent.Dispose();

    [Fact]
    public async Task The_database_its_wal_and_shm_and_the_blob_trees_are_owner_only()
    {
        using var umask = FileModes.Umask("022");
        var data = _parent.Combine("data");
        await using var host = await StorageHost.StartAsync(data, new Dictionary<string, string?>());
        var content = "layer"u8.ToArray();
        await using (var scope = host.Scope())
        {
            await scope.ServiceProvider.GetRequiredService<UploadService>().UploadWholeAsync(
                "modes/app", Digest.ComputeSha256(content), PipeReader.Create(new MemoryStream(content)), content.Length, default);
        }

        var database = Path.Combine(data, "registry.db");
        Assert.True(File.Exists(database + "-wal"), "the database is in WAL mode and has a -wal file while open");
        foreach (var file in new[] { database, database + "-wal", database + "-shm" })
        {
            Assert.Equal("0600", FileModes.Of(file));
        }

        foreach (var directory in new[] { data, Path.Combine(data, "blobs"), Path.Combine(data, "uploads") })
        {
            Assert.Equal("0700", FileModes.Of(directory));
        }
    }

    [Fact]
    public async Task A_database_left_readable_by_others_is_restricted_at_start()
    {
        var data = _parent.Combine("data");
        await using (await StorageHost.StartAsync(data, new Dictionary<string, string?>()))
        {
        }

        var database = Path.Combine(data, "registry.db");
        FileModes.Set(database, "0644");
        await using var host = await StorageHost.StartAsync(data, new Dictionary<string, string?>());

        Assert.Equal("0600", FileModes.Of(database));
    }
}
