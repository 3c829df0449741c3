namespace Registry.Storage.Blobs.S3;

/// <summary>
/// A seekable read-only stream over one S3 object. Reading opens a GET from the current position (a ranged GET past
/// the start), so seeking then reading — what the API's Range handling does — fetches only the range's bytes. A
/// connection that breaks mid-object is reopened from where it stopped, with the client's backoff, a bounded number
/// of times, as is one that stalls for longer than the request timeout.
/// </summary>
internal sealed class S3ReadStream : Stream
{
    private readonly S3Client _client;
    private readonly string _key;
    private readonly long _length;
    private HttpResponseMessage? _response;
    private Stream? _body;
    private long _bodyPosition;
    private long _position;

    public S3ReadStream(S3Client client, string key, long length)
    {
        _client = client;
        _key = key;
        _length = length;
    }

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position
    {
        get => _position;
        set => Seek(value, SeekOrigin.Begin);
    }

    public override long Seek(long offset, SeekOrigin origin)
    {
        var target = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            SeekOrigin.End => _length + offset,
            _ => throw new ArgumentOutOfRangeException(nameof(origin)),
        };
        ArgumentOutOfRangeException.ThrowIfNegative(target, nameof(offset));
        _position = target;
        return target;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= _length || buffer.IsEmpty)
        {
            return 0;
        }

        var want = buffer[..(int)Math.Min(buffer.Length, _length - _position)];
        for (var attempt = 1; ; attempt++)
        {
            // A server that stops answering is a broken connection too: each step has the attempt timeout.
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_client.Retry.AttemptTimeout);
            try
            {
                var body = await BodyAtPositionAsync(timeout.Token);
                var read = await body.ReadAsync(want, timeout.Token);
                if (read == 0)
                {
                    throw new IOException($"S3 object {_key} ended at byte {_position} of {_length}");
                }

                _position += read;
                _bodyPosition += read;
                return read;
            }
            catch (Exception e) when (!cancellationToken.IsCancellationRequested && attempt < _client.Retry.MaxAttempts && S3Retry.IsTransient(e))
            {
                DropResponse(); // reopened at the position reached
                await Task.Delay(S3Retry.Delay(attempt), cancellationToken);
            }
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <remarks>Blob bytes are only read asynchronously; a synchronous read would block a thread on the network.</remarks>
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("S3 objects are read asynchronously");

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            DropResponse();
        }

        base.Dispose(disposing);
    }

    public override ValueTask DisposeAsync()
    {
        DropResponse();
        return base.DisposeAsync();
    }

    private async Task<Stream> BodyAtPositionAsync(CancellationToken ct)
    {
        if (_body is not null && _bodyPosition == _position)
        {
            return _body;
        }

        DropResponse();
        _response = await _client.GetAsync(_key, _position, ct)
            ?? throw new FileNotFoundException($"S3 object {_key} is gone");
        _body = await _response.Content.ReadAsStreamAsync(ct);
        _bodyPosition = _position;
        return _body;
    }

    private void DropResponse()
    {
        _body?.Dispose();
        _body = null;
        _response?.Dispose();
        _response = null;
    }
}
