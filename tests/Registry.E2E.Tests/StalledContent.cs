using System.Net;

namespace Registry.E2E.Tests;

/// <summary>
/// A request body that sends its first <c>sentLength</c> bytes and then stalls, so a test can
/// act (kill the server) while the request is still in flight. Declares the whole length.
/// </summary>
internal sealed class StalledContent(byte[] content, int sentLength, CancellationToken stall) : HttpContent
{
    private const int ChunkSize = 64 * 1024;
    private readonly TaskCompletionSource _partSent = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the first part has been handed to the connection.</summary>
    public Task PartSent => _partSent.Task;

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        => SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        for (var offset = 0; offset < sentLength; offset += ChunkSize)
        {
            var count = Math.Min(ChunkSize, sentLength - offset);
            await stream.WriteAsync(content.AsMemory(offset, count), cancellationToken);
            await stream.FlushAsync(cancellationToken);
        }

        _partSent.TrySetResult();
        // Until the test ends the stall (after the server is gone): the rest of the body never comes.
        await Task.Delay(Timeout.InfiniteTimeSpan, stall).ContinueWith(_ => { }, TaskScheduler.Default);
        throw new IOException("The request body was cut short on purpose.");
    }

    protected override bool TryComputeLength(out long length)
    {
        length = content.LongLength;
        return true;
    }
}
