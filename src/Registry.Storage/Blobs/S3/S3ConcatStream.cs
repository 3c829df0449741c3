namespace Registry.Storage.Blobs.S3;

/// <summary>
/// Several staged objects read one after the other as one forward-only stream: an upload's staged bytes (for
/// hashing them again) or a run of small pieces sent as one part of a multipart upload. One object is open at a
/// time; each resumes by itself after a broken connection (<see cref="S3ReadStream"/>).
/// </summary>
internal sealed class S3ConcatStream(S3Client client, IReadOnlyList<StagedPart> parts) : Stream
{
    private int _next;
    private S3ReadStream? _current;
    private long _position;

    public long TotalLength { get; } = parts.Sum(p => p.Size);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => TotalLength;

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!buffer.IsEmpty)
        {
            if (_current is null)
            {
                if (_next == parts.Count)
                {
                    return 0;
                }

                var part = parts[_next++];
                _current = new S3ReadStream(client, part.Key, part.Size);
            }

            var read = await _current.ReadAsync(buffer, cancellationToken);
            if (read > 0)
            {
                _position += read;
                return read;
            }

            await _current.DisposeAsync();
            _current = null;
        }

        return 0;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("S3 objects are read asynchronously");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Flush()
    {
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _current?.Dispose();
            _current = null;
        }

        base.Dispose(disposing);
    }
}
