using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Registry.Core;
using Registry.Storage.Metadata;
using Registry.Storage.Observability;
using Registry.Storage.Services;

namespace Registry.Storage.Tests;

/// <summary>
/// Chunks of one upload written by different processes (replicas behind a round-robin balancer): each continues the
/// hash from the state the previous writer saved in the upload's row, so no byte is read back and hashed twice.
/// </summary>
public abstract partial class StorageContractTests
{
    [Fact]
    public async Task Chunks_alternating_between_two_processes_are_hashed_once_and_the_digest_verifies()
    {
        var (metricsA, metricsB) = (new RehashCounter(), new RehashCounter());
        await using var a = await StorageHost.StartAsync(_dataDirectory, Host.Settings, metricsA);
        await using var b = await StorageHost.StartAsync(_dataDirectory, Host.Settings, metricsB);
        var content = RandomBytes((3 * 1024 * 1024) + 4099);
        var digest = Digest.ComputeSha256(content);
        var id = (await On(a, sp => sp.GetRequiredService<UploadService>().StartAsync("alternate/app", owner: null, default))).Id;

        // Odd sizes, so that saved states hold a partly filled block.
        var cuts = new[] { 0, 1_000_003, 2_000_011, 3_000_017, content.Length };
        for (var i = 0; i + 1 < cuts.Length; i++)
        {
            var (start, end) = (cuts[i], cuts[i + 1]);
            var status = await On(i % 2 == 0 ? a : b, sp => sp.GetRequiredService<UploadService>().AppendAsync(
                "alternate/app", id, Body(content, start, end - start), new ChunkRange(start, end - 1), end - start, default));
            Assert.Equal(end, status.Offset);
            var row = await On(a, sp => sp.GetRequiredService<RegistryDbContext>().Uploads.AsNoTracking().SingleAsync(u => u.Id == id));
            Assert.Equal(end, row.HashOffset);
        }

        var size = await On(a, sp => sp.GetRequiredService<UploadService>().CompleteAsync("alternate/app", id, digest, null, null, null, default));
        Assert.Equal(content.Length, size);
        Assert.Equal(content, await ReadBlobAsync(digest));
        Assert.Equal(0, metricsA.Rehashed + metricsB.Rehashed);
    }

    [Theory]
    [InlineData("offset")]
    [InlineData("garbage")]
    public async Task A_saved_hash_state_that_does_not_fit_is_not_used_and_the_bytes_are_hashed_again(string damage)
    {
        var metrics = new RehashCounter();
        await using var other = await StorageHost.StartAsync(_dataDirectory, Host.Settings, metrics);
        var content = RandomBytes(2 * 1024 * 1024);
        var digest = Digest.ComputeSha256(content);
        var id = await StartUploadAsync("damaged/app");
        await AppendAsync("damaged/app", id, content[..1_000_000], 0);
        await InScope(sp => sp.GetRequiredService<RegistryDbContext>().Uploads.Where(u => u.Id == id).ExecuteUpdateAsync(s =>
        {
            if (damage == "offset")
            {
                s.SetProperty(u => u.HashOffset, 999_999L);
            }
            else
            {
                s.SetProperty(u => u.HashState, new byte[] { 9, 1, 2, 3 });
            }
        }));

        await On(other, sp => sp.GetRequiredService<UploadService>().AppendAsync(
            "damaged/app", id, Body(content, 1_000_000, content.Length - 1_000_000), new ChunkRange(1_000_000, content.Length - 1), content.Length - 1_000_000, default));
        await On(other, sp => sp.GetRequiredService<UploadService>().CompleteAsync("damaged/app", id, digest, null, null, null, default));

        Assert.Equal(1_000_000, metrics.Rehashed);
        Assert.Equal(content, await ReadBlobAsync(digest));
    }

    private static async Task<T> On<T>(StorageHost host, Func<IServiceProvider, Task<T>> action)
    {
        await using var scope = host.Scope();
        return await action(scope.ServiceProvider);
    }

    private sealed class RehashCounter : IStorageMetrics
    {
        private long _rehashed;

        public long Rehashed => Interlocked.Read(ref _rehashed);

        public void BytesReceived(long bytes)
        {
        }

        public void ChunkStored(TimeSpan elapsed)
        {
        }

        public void UploadCommitted(TimeSpan elapsed)
        {
        }

        public void BytesRehashed(long bytes) => Interlocked.Add(ref _rehashed, bytes);

        public void StorageError(string operation)
        {
        }
    }
}
