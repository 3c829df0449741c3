using System.Net;
using System.Security.Cryptography;
using Registry.Testing;

namespace Registry.E2E.Tests.Replicas;

/// <summary>
/// One upload whose requests go to different replicas, as a load balancer may send them: each replica continues from
/// what is staged in S3, and the digest is verified by the replica that completes it.
/// </summary>
[Collection(ReplicaCollection.Name)]
public sealed class ReplicaUploadTests(ReplicaPairFixture fixture)
{
    private const int Chunk = 3 * 1024 * 1024;

    private ReplicaPair Pair => fixture.Pair;

    [Fact]
    public async Task Chunks_alternating_between_replicas_commit_a_verified_blob_that_both_serve()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var repository = TestNames.Repository("alternate");
        var content = RandomNumberGenerator.GetBytes((2 * Chunk) + 12345);
        var digest = ReplicaHttp.Digest(content);
        var token = await ReplicaHttp.TokenAsync(Pair.First, repository, ct);
        using var one = new ReplicaHttp(Pair.First, token);
        using var two = new ReplicaHttp(Pair.Second, token);

        var location = await one.StartUploadAsync(repository, ct);
        location = await two.PatchAsync(location, content[..Chunk], 0, ct);
        location = await one.PatchAsync(location, content[Chunk..], Chunk, ct);
        using var put = await two.CompleteAsync(location, digest, ct);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(digest, put.Headers.GetValues("Docker-Content-Digest").Single());
        foreach (var replica in new[] { one, two })
        {
            var (status, served) = await replica.GetBlobAsync(repository, digest, ct);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(digest, ReplicaHttp.Digest(served!));
        }

        Assert.Contains($"blobs/sha256/{digest[7..9]}/{digest[7..]}", await Pair.BlobKeysAsync(ct));
        Assert.Empty(Pair.LocalBlobFiles());
    }

    [Fact]
    public async Task A_wrong_digest_on_the_final_put_at_the_other_replica_is_refused_and_leaves_no_blob()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var repository = TestNames.Repository("wrong-digest");
        var content = RandomNumberGenerator.GetBytes(Chunk + 777);
        var actual = ReplicaHttp.Digest(content);
        var claimed = ReplicaHttp.Digest(RandomNumberGenerator.GetBytes(16));
        var token = await ReplicaHttp.TokenAsync(Pair.Second, repository, ct);
        using var one = new ReplicaHttp(Pair.First, token);
        using var two = new ReplicaHttp(Pair.Second, token);

        var location = await one.StartUploadAsync(repository, ct);
        location = await two.PatchAsync(location, content[..Chunk], 0, ct);
        location = await one.PatchAsync(location, content[Chunk..], Chunk, ct);
        using var put = await two.CompleteAsync(location, claimed, ct);

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Contains("\"DIGEST_INVALID\"", await put.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        foreach (var replica in new[] { one, two })
        {
            Assert.Equal(HttpStatusCode.NotFound, (await replica.GetBlobAsync(repository, claimed, ct)).Status);
            Assert.Equal(HttpStatusCode.NotFound, (await replica.GetBlobAsync(repository, actual, ct)).Status);
            using var status = await replica.SendAsync(HttpMethod.Get, location, ct: ct);
            Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        }

        var keys = await Pair.BlobKeysAsync(ct);
        Assert.DoesNotContain(keys, k => k.EndsWith(claimed[7..], StringComparison.Ordinal) || k.EndsWith(actual[7..], StringComparison.Ordinal));
        var uploadId = location.Split('/')[^1].Split('?')[0];
        Assert.Empty(await Pair.S3.ListKeysAsync(Pair.Bucket, $"uploads/{uploadId}/", ct));
        Assert.Equal(0, await Pair.CountAsync($"SELECT count(*) FROM blobs WHERE digest IN ('{claimed}', '{actual}')", ct));
    }

    [Fact]
    public async Task While_one_replica_writes_an_upload_the_other_refuses_a_second_writer()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var repository = TestNames.Repository("one-writer");
        const int Piece = 8 * 1024 * 1024; // the S3 store's part size: staged once a piece is full
        var content = RandomNumberGenerator.GetBytes(Piece + (4 * 1024 * 1024));
        var digest = ReplicaHttp.Digest(content);
        var token = await ReplicaHttp.TokenAsync(Pair.First, repository, ct);
        using var one = new ReplicaHttp(Pair.First, token);
        using var two = new ReplicaHttp(Pair.Second, token);
        var location = await one.StartUploadAsync(repository, ct);

        // Replica 1 is half-way through a PATCH: its first piece is staged, the rest of the body is still to come.
        var resume = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var body = new PausedContent(content, Piece + 1024, resume.Task);
        var writing = one.SendAsync(HttpMethod.Patch, location, body, $"0-{content.Length - 1}", ct);
        await body.PartSent;
        await WaitForStagedAsync(two, location, Piece, ct);

        using var second = await two.SendAsync(HttpMethod.Patch, location, content[Piece..(Piece + 1024)], $"{Piece}-{Piece + 1023}", ct);
        using var early = await two.CompleteAsync(location, digest, ct);
        resume.SetResult();
        using var first = await writing;
        using var put = await two.CompleteAsync(location, digest, ct);

        Assert.Equal(HttpStatusCode.BadRequest, second.StatusCode);
        Assert.Contains("being written by another request", await second.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, early.StatusCode);
        Assert.Contains("BLOB_UPLOAD_INVALID", await early.Content.ReadAsStringAsync(ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal($"0-{content.Length - 1}", first.Headers.GetValues("Range").Single());
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        var (status, served) = await one.GetBlobAsync(repository, digest, ct);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(digest, ReplicaHttp.Digest(served!));
    }

    /// <summary>Polls the upload's status (on any replica) until at least <paramref name="length"/> bytes are staged.</summary>
    private static async Task WaitForStagedAsync(ReplicaHttp replica, string location, long length, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            using var status = await replica.SendAsync(HttpMethod.Get, location, ct: ct);
            Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
            var end = long.Parse(status.Headers.GetValues("Range").Single().Split('-')[1], System.Globalization.CultureInfo.InvariantCulture);
            if (end + 1 >= length)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"only {end + 1} bytes were staged after 60 s");
            await Task.Delay(100, ct);
        }
    }

    [Fact]
    public async Task The_same_blob_pushed_through_both_replicas_at_once_is_stored_once_and_linked_to_both_repositories()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var content = RandomNumberGenerator.GetBytes((2 * Chunk) + 1);
        var digest = ReplicaHttp.Digest(content);
        var repositories = new[] { TestNames.Repository("same-a"), TestNames.Repository("same-b") };

        // Both sessions are started and staged before either completes, so both commits race for the one key.
        var sessions = await Task.WhenAll(Pair.Replicas.Select(async (replica, i) =>
        {
            var http = new ReplicaHttp(replica, await ReplicaHttp.TokenAsync(replica, repositories[i], ct));
            var location = await http.StartUploadAsync(repositories[i], ct);
            location = await http.PatchAsync(location, content, 0, ct);
            return (http, location);
        }));
        var puts = await Task.WhenAll(sessions.Select(s => s.http.CompleteAsync(s.location, digest, ct)));

        Assert.All(puts, p => Assert.Equal(HttpStatusCode.Created, p.StatusCode));
        Assert.Single(await Pair.BlobKeysAsync(ct), k => k.EndsWith(digest[7..], StringComparison.Ordinal));
        Assert.Equal(1, await Pair.CountAsync($"SELECT count(*) FROM blobs WHERE digest = '{digest}'", ct));
        Assert.Equal(2, await Pair.CountAsync($"SELECT count(*) FROM repository_blobs WHERE blob_digest = '{digest}'", ct));
        for (var i = 0; i < sessions.Length; i++)
        {
            var (status, served) = await sessions[i].http.GetBlobAsync(repositories[i], digest, ct);
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.Equal(digest, ReplicaHttp.Digest(served!));
        }

        foreach (var (http, _) in sessions)
        {
            http.Dispose();
        }

        foreach (var put in puts)
        {
            put.Dispose();
        }
    }
}
