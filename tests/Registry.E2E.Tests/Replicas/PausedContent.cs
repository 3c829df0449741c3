using System.Net;

namespace Registry.E2E.Tests.Replicas;

/// <summary>
/// A request body that sends its first <c>sentLength</c> bytes, waits for <c>resume</c>, then sends the rest, so that
/// a test can act while a request is half-way through. Declares the whole length.
/// </summary>
internal sealed class PausedContent(byte[] content, int sentLength, Task resume) : HttpContent
{
    private const int ChunkSize = 64 * 1024;
    private readonly TaskCompletionSource _partSent = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the first part has been handed to the connection.</summary>
    public Task PartSent => _partSent.Task;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        await WriteAsync(stream, 0, sentLength, cancellationToken);
        _partSent.TrySetResult();
        await resume.WaitAsync(cancellationToken);
        await WriteAsync(stream, sentLength, content.Length, cancellationToken);
    }

    protected override bool TryComputeLength(out long length)
    {
        length = content.LongLength;
        return true;
    }

    private async Task WriteAsync(Stream stream, int from, int to, CancellationToken ct)
    {
        for (var offset = from; offset < to; offset += ChunkSize)
        {
            await stream.WriteAsync(content.AsMemory(offset, Math.Min(ChunkSize, to - offset)), ct);
            await stream.FlushAsync(ct);
        }
    }
}
