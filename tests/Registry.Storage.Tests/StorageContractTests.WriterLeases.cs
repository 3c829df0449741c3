using System.IO.Pipelines;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core;
using Registry.Storage.Blobs;
using Registry.Storage.Metadata;
using Registry.Storage.Presence;
using Registry.Storage.Services;

namespace Registry.Storage.Tests;

/// <summary>
/// One writer per upload across processes sharing the database: a second storage host over the same data plays the
/// other replica (or the process that ran before a restart), with its own presence.
/// </summary>
public abstract partial class StorageContractTests
{
    [Fact]
    public async Task An_upload_leased_by_a_live_process_is_refused_and_taken_over_once_that_process_is_gone()
    {
        var id = await StartUploadAsync("lease/app");
        var other = await StorageHost.StartAsync(_dataDirectory, Host.Settings);
        string otherId;
        try
        {
            otherId = await other.Get<IProcessPresence>().GetIdAsync(default);
            await HoldLeaseAsync(id, otherId);

            var e = await Assert.ThrowsAsync<RegistryException>(() => AppendAsync("lease/app", id, new byte[10], 0));
            Assert.Equal(ErrorCode.BlobUploadInvalid, e.Error);
            Assert.Equal(0, await Host.Get<IBlobIngester>().GetStagedLengthAsync(id, default));
            Assert.False(await Host.Get<IProcessPresence>().IsGoneAsync(otherId, default));
        }
        finally
        {
            await other.DisposeAsync();
        }

        // Its process ended (as a killed one does): the lease is free at once, with no wait for it to run out.
        Assert.True(await Host.Get<IProcessPresence>().IsGoneAsync(otherId, default));
        var status = await AppendAsync("lease/app", id, new byte[10], 0);
        Assert.Equal(10, status.Offset);
        var row = await UploadRowAsync(id);
        Assert.Null(row.Writer);
        Assert.Equal(Host.Time.GetUtcNow().UtcDateTime, row.UpdatedAt, TimeSpan.FromSeconds(1));
    }

    [Fact]
    public async Task A_lease_whose_holder_cannot_be_checked_runs_out_by_time()
    {
        var id = await StartUploadAsync("lapse/app");
        await HoldLeaseAsync(id, writer: null);

        var e = await Assert.ThrowsAsync<RegistryException>(() => AppendAsync("lapse/app", id, new byte[10], 0));
        Assert.Equal(ErrorCode.BlobUploadInvalid, e.Error);

        // Two minutes ahead, with thirty seconds allowed for clocks that differ between replicas.
        Host.Time.Advance(TimeSpan.FromSeconds(89));
        e = await Assert.ThrowsAsync<RegistryException>(() => AppendAsync("lapse/app", id, new byte[10], 0));
        Assert.Equal(ErrorCode.BlobUploadInvalid, e.Error);

        Host.Time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(10, (await AppendAsync("lapse/app", id, new byte[10], 0)).Offset);
    }

    [Fact]
    public async Task A_writer_whose_lease_was_taken_over_commits_nothing()
    {
        var id = await StartUploadAsync("fence/app");
        var content = RandomBytes(1024 * 1024);
        var digest = Digest.ComputeSha256(content);
        var me = await Host.Get<IProcessPresence>().GetIdAsync(default);
        var body = new Pipe();

        var completing = InScope(sp => sp.GetRequiredService<UploadService>()
            .CompleteAsync("fence/app", id, digest, body.Reader, null, content.Length, default));
        await body.Writer.WriteAsync(content.AsMemory(0, content.Length / 2));
        for (var tries = 0; (await UploadRowAsync(id)).Writer != me; tries++)
        {
            Assert.True(tries < 200, "the request never took the upload's lease");
            await Task.Delay(50);
        }

        // Meanwhile another process found this one gone and took the upload over.
        const string other = "pg:12345";
        await HoldLeaseAsync(id, other);
        await body.Writer.WriteAsync(content.AsMemory(content.Length / 2));
        await body.Writer.CompleteAsync();

        var e = await Assert.ThrowsAsync<RegistryException>(() => completing);
        Assert.Equal(ErrorCode.BlobUploadInvalid, e.Error);
        Assert.Equal(other, (await UploadRowAsync(id)).Writer);
        Assert.False(await InScope(sp => sp.GetRequiredService<RegistryDbContext>().Blobs.AnyAsync(b => b.Digest == digest.ToString())));
        var hex = digest.ToString()["sha256:".Length..];
        Assert.DoesNotContain((await Stored.ListAsync()).Keys, location => location.Contains(hex, StringComparison.Ordinal));
    }

    private Task<string> StartUploadAsync(string repository) =>
        InScope(async sp => (await sp.GetRequiredService<UploadService>().StartAsync(repository, owner: null, default)).Id);

    private Task<UploadStatus> AppendAsync(string repository, string id, byte[] content, long start) =>
        InScope(sp => sp.GetRequiredService<UploadService>()
            .AppendAsync(repository, id, Body(content), new ChunkRange(start, start + content.Length - 1), content.Length, default));

    /// <summary>Writes the lease a request of <paramref name="writer"/> holds while it writes: two minutes ahead.</summary>
    private Task<int> HoldLeaseAsync(string id, string? writer)
    {
        var until = Host.Time.GetUtcNow().UtcDateTime + TimeSpan.FromMinutes(2);
        return InScope(sp => sp.GetRequiredService<RegistryDbContext>().Uploads.Where(u => u.Id == id)
            .ExecuteUpdateAsync(s => s.SetProperty(u => u.UpdatedAt, until).SetProperty(u => u.Writer, writer)));
    }

    private Task<UploadEntity> UploadRowAsync(string id) =>
        InScope(sp => sp.GetRequiredService<RegistryDbContext>().Uploads.AsNoTracking().SingleAsync(u => u.Id == id));
}
