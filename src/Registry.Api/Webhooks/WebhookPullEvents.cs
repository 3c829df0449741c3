using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Registry.Core;
using Registry.Storage.Metadata;
using Registry.Storage.Webhooks;

namespace Registry.Api.Webhooks;

/// <summary>
/// Pulls, reported to webhooks without a database write in the pull: the request only puts the event in a bounded
/// buffer, and a background loop records what has gathered as deliveries in one batch. When the buffer is full the
/// event is dropped and counted; a pull never waits for webhooks.
/// </summary>
public sealed partial class WebhookPullEvents(IServiceScopeFactory scopes, IOptions<WebhookOptions> options, TimeProvider time, ILogger<WebhookPullEvents> logger)
    : BackgroundService
{
    private const int BatchSize = 500;

    private readonly Channel<WebhookEvent> _buffer = Channel.CreateBounded<WebhookEvent>(
        new BoundedChannelOptions(options.Value.PullBufferSize) { FullMode = BoundedChannelFullMode.Wait, SingleReader = true });

    private long _dropped;
    private long _droppedReported;

    /// <summary>Pull events dropped because the buffer was full, since start.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Notes a manifest GET; returns at once.</summary>
    public void Add(string repository, ManifestReference reference, string digest, string mediaType, string? actor)
    {
        if (!_buffer.Writer.TryWrite(new WebhookEvent(WebhookEventTypes.Pull, repository, reference.Tag, digest, mediaType, actor, time.GetUtcNow().UtcDateTime)))
        {
            Interlocked.Increment(ref _dropped);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<WebhookEvent>(BatchSize);
        while (await _buffer.Reader.WaitToReadAsync(stoppingToken))
        {
            while (batch.Count < BatchSize && _buffer.Reader.TryRead(out var change))
            {
                batch.Add(change);
            }

            try
            {
                await using var scope = scopes.CreateAsyncScope();
                await WebhookOutbox.RecordAsync(scope.ServiceProvider.GetRequiredService<RegistryDbContext>(), batch, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFlushFailed(logger, e, batch.Count);
            }

            batch.Clear();
            var dropped = Dropped;
            if (dropped > _droppedReported)
            {
                LogDropped(logger, dropped - _droppedReported, dropped);
                _droppedReported = dropped;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not record {Count} pull events for webhooks; they are not reported")]
    private static partial void LogFlushFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropped {Count} pull events for webhooks because the buffer (Registry:Webhooks:PullBufferSize) was full; {Total} since start")]
    private static partial void LogDropped(ILogger logger, long count, long total);
}
