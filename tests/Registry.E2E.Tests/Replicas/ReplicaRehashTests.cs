using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using Xunit.Abstractions;

namespace Registry.E2E.Tests.Replicas;

/// <summary>
/// An upload whose chunks land on different replicas: each replica continues the hash from the state the previous one
/// saved in the upload's row, so no staged byte is read back and hashed again (the replicas' own
/// <c>registry_upload_bytes_rehashed_total</c> stays 0), and the upload costs what it costs on one replica. The same
/// two-chunk upload is timed on one replica and alternating between both; both must commit the verified digest. The
/// size is 32 MiB, or <c>REGISTRY_REHASH_MIB</c> MiB for a measurement (docs/replicas.md gives the figures).
/// </summary>
[Collection(ReplicaCollection.Name)]
public sealed class ReplicaRehashTests(ReplicaPairFixture fixture, ITestOutputHelper output)
{
    private ReplicaPair Pair => fixture.Pair;

    [Fact]
    public async Task A_two_chunk_upload_alternating_between_replicas_is_hashed_once_and_commits_the_same_digest_as_on_one_replica()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        var ct = timeout.Token;
        var rehashedBefore = await RehashedBytesAsync(ct);
        var mebibytes = int.TryParse(Environment.GetEnvironmentVariable("REGISTRY_REHASH_MIB"), NumberStyles.None, CultureInfo.InvariantCulture, out var m) && m >= 2 ? m : 32;
        var content = RandomNumberGenerator.GetBytes(mebibytes * 1024 * 1024);
        var digest = ReplicaHttp.Digest(content);

        // Warm-up (connections, JIT) on both replicas, then each pattern; a fresh repository each time.
        await UploadAsync([0, 0, 0, 0], content[..(1024 * 1024)], ct);
        await UploadAsync([0, 1, 0, 1], content[..(1024 * 1024)], ct);

        // Interleaved rounds, and the median of each, as the machine's load varies.
        var one = new List<TimeSpan>();
        var alternating = new List<TimeSpan>();
        for (var round = 0; round < 3; round++)
        {
            one.Add(await UploadAsync([0, 0, 0, 0], content, ct));
            alternating.Add(await UploadAsync([0, 1, 0, 1], content, ct));
            output.WriteLine($"round {round}: one replica {one[^1].TotalSeconds:F2} s, alternating {alternating[^1].TotalSeconds:F2} s");
        }

        var (oneMedian, alternatingMedian) = (one.Order().ElementAt(1), alternating.Order().ElementAt(1));
        output.WriteLine(
            $"{mebibytes} MiB in two chunks, median of 3: one replica {oneMedian.TotalSeconds:F2} s, alternating replicas "
            + $"{alternatingMedian.TotalSeconds:F2} s ({alternatingMedian / oneMedian:F2}x)");
        Assert.True(oneMedian > TimeSpan.Zero && alternatingMedian > TimeSpan.Zero, digest);
        Assert.Equal(rehashedBefore, await RehashedBytesAsync(ct));
    }

    /// <summary>registry_upload_bytes_rehashed_total of both replicas together, from their /metrics.</summary>
    private async Task<double> RehashedBytesAsync(CancellationToken ct)
    {
        using var http = new HttpClient();
        var total = 0.0;
        foreach (var replica in new[] { Pair.First, Pair.Second })
        {
            var text = await http.GetStringAsync(new Uri(replica.BaseAddress, "metrics"), ct);
            var line = text.Split('\n').Single(l => l.StartsWith("registry_upload_bytes_rehashed_total ", StringComparison.Ordinal));
            total += double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
        }

        return total;
    }

    /// <summary>POST, PATCH (first half), PATCH (second half), PUT, each on the replica its index names; the time from POST to 201.</summary>
    private async Task<TimeSpan> UploadAsync(int[] replicas, byte[] content, CancellationToken ct)
    {
        var repository = TestNames.Repository("rehash");
        var digest = ReplicaHttp.Digest(content);
        var token = await ReplicaHttp.TokenAsync(Pair.First, repository, ct);
        using var one = new ReplicaHttp(Pair.First, token);
        using var two = new ReplicaHttp(Pair.Second, token);
        var http = replicas.Select(i => i == 0 ? one : two).ToArray();
        var half = content.Length / 2;

        var stopwatch = Stopwatch.StartNew();
        var location = await http[0].StartUploadAsync(repository, ct);
        location = await http[1].PatchAsync(location, content[..half], 0, ct);
        location = await http[2].PatchAsync(location, content[half..], half, ct);
        using var put = await http[3].CompleteAsync(location, digest, ct);
        stopwatch.Stop();

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(digest, put.Headers.GetValues("Docker-Content-Digest").Single());
        var (status, served) = await http[1].GetBlobAsync(repository, digest, ct);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(digest, ReplicaHttp.Digest(served!));
        return stopwatch.Elapsed;
    }
}
