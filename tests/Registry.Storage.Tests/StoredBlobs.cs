using Registry.Core;
using Registry.Storage.Blobs;
using Registry.Storage.Blobs.S3;

namespace Registry.Storage.Tests;

/// <summary>
/// The committed blobs as the blob store keeps them, seen and changed behind the registry's back (a crash's orphan,
/// a lost file), whichever store the test runs on. A location is a file path or an object key.
/// </summary>
public abstract class StoredBlobs
{
    /// <summary>Every stored blob: its location and size.</summary>
    public abstract Task<Dictionary<string, long>> ListAsync();

    /// <summary>Stores bytes where the blob of <paramref name="digest"/> belongs, without any record; returns the location.</summary>
    public abstract Task<string> PlaceAsync(Digest digest, byte[] content);

    /// <summary>Removes the blob's bytes, as a disk failure or an operator would.</summary>
    public abstract Task LoseAsync(Digest digest);

    public abstract Task<bool> ExistsAsync(string location);

    /// <summary>The blobs of <see cref="FileSystemBlobStore"/> under a data directory.</summary>
    public sealed class Files(string dataDirectory) : StoredBlobs
    {
        private string Root => Path.Combine(dataDirectory, "blobs");

        public override Task<Dictionary<string, long>> ListAsync() => Task.FromResult(
            Directory.Exists(Root)
                ? Directory.EnumerateFiles(Root, "*", SearchOption.AllDirectories).ToDictionary(f => f, f => new FileInfo(f).Length)
                : []);

        public override async Task<string> PlaceAsync(Digest digest, byte[] content)
        {
            var path = PathOf(digest);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllBytesAsync(path, content);
            return path;
        }

        public override Task LoseAsync(Digest digest)
        {
            File.Delete(PathOf(digest));
            return Task.CompletedTask;
        }

        public override Task<bool> ExistsAsync(string location) => Task.FromResult(File.Exists(location));

        private string PathOf(Digest digest) => Path.Combine(Root, digest.Algorithm, digest.Encoded[..2], digest.Encoded);
    }

    /// <summary>The blobs of <see cref="S3BlobStore"/>: objects under <c>blobs/</c> in its bucket, reached with plain S3 requests.</summary>
    internal sealed class Objects(S3Client client) : StoredBlobs
    {
        public override async Task<Dictionary<string, long>> ListAsync()
        {
            var found = new Dictionary<string, long>();
            await foreach (var o in client.ListAsync("blobs/", default))
            {
                found[o.Key] = o.Size;
            }

            return found;
        }

        public override async Task<string> PlaceAsync(Digest digest, byte[] content)
        {
            var key = S3Layout.BlobKey(digest);
            await client.PutAsync(key, () => new ByteArrayContent(content), default);
            return key;
        }

        public override Task LoseAsync(Digest digest) => client.DeleteAsync(S3Layout.BlobKey(digest), default);

        public override async Task<bool> ExistsAsync(string location) => await client.HeadAsync(location, default) is not null;
    }
}
