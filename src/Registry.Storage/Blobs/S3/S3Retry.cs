using System.Net;
using Microsoft.Extensions.Logging;

namespace Registry.Storage.Blobs.S3;

/// <summary>An S3 request that failed for good: an error answer, or a transient failure that outlasted its retries.</summary>
/// <remarks>Not an <see cref="IOException"/>: callers read those as "the staged upload is held by another writer".</remarks>
public sealed class S3Exception : Exception
{
    public S3Exception(string message, HttpStatusCode? status = null, string? code = null, Exception? inner = null)
        : base(message, inner)
    {
        Status = status;
        Code = code;
    }

    public S3Exception()
    {
    }

    public S3Exception(string message)
        : base(message)
    {
    }

    public S3Exception(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public HttpStatusCode? Status { get; }

    /// <summary>S3's error code (<c>NoSuchKey</c>, <c>SlowDown</c>, <c>NotImplemented</c>…), when the server sent one.</summary>
    public string? Code { get; }

    /// <summary>Worth trying again: the server was busy or broke down, not the request.</summary>
    public bool IsTransient =>
        Status is HttpStatusCode.InternalServerError or HttpStatusCode.BadGateway or HttpStatusCode.ServiceUnavailable
            or HttpStatusCode.GatewayTimeout or HttpStatusCode.TooManyRequests
        || Code is "SlowDown" or "InternalError" or "RequestTimeout" or "ServiceUnavailable";
}

/// <summary>
/// Tries an idempotent S3 operation again after transient failures (5xx, 429, SlowDown, timeouts, refused or reset
/// connections), waiting 100 ms, 200 ms, 400 ms… (capped at 5 s, with jitter) in between, a bounded number of times.
/// </summary>
internal sealed partial class S3Retry(int maxAttempts, TimeSpan attemptTimeout, ILogger logger)
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);

    public int MaxAttempts => maxAttempts;

    /// <summary>How long one attempt may take; for a streamed body, how long one read may wait.</summary>
    public TimeSpan AttemptTimeout => attemptTimeout;

    /// <summary>Runs <paramref name="operation"/> with a per-attempt timeout until it succeeds or fails for good.</summary>
    /// <param name="what">Names the operation in logs and errors (a method and a key; never a credential).</param>
    public async Task<T> RunAsync<T>(string what, Func<CancellationToken, Task<T>> operation, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(attemptTimeout);
            try
            {
                return await operation(timeout.Token);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && IsTransient(e))
            {
                if (attempt >= maxAttempts)
                {
                    throw e as S3Exception ?? new S3Exception($"{what} failed after {attempt} attempts: {e.Message}", (e as HttpRequestException)?.StatusCode, null, e);
                }

                var delay = Delay(attempt);
                LogRetry(logger, what, attempt, delay.TotalMilliseconds, e.Message);
                await Task.Delay(delay, ct);
            }
        }
    }

    public Task RunAsync(string what, Func<CancellationToken, Task> operation, CancellationToken ct) =>
        RunAsync(what, async token =>
        {
            await operation(token);
            return true;
        }, ct);

    /// <summary>The wait before attempt <paramref name="attempt"/> + 1: doubling, capped, with up to 50% jitter.</summary>
    public static TimeSpan Delay(int attempt)
    {
        var exponential = FirstDelay * Math.Pow(2, Math.Min(attempt - 1, 16));
        var capped = exponential < MaxDelay ? exponential : MaxDelay;
        return capped * (0.5 + (Random.Shared.NextDouble() / 2));
    }

    /// <summary>
    /// Transient: an S3 answer that says so, a connection that failed or broke (HttpRequestException, IOException),
    /// or an attempt that timed out (cancelled while the caller's own token was not; the caller checks that).
    /// </summary>
    public static bool IsTransient(Exception e) => e switch
    {
        S3Exception s3 => s3.IsTransient,
        HttpRequestException { StatusCode: null } => true,
        HttpRequestException { StatusCode: { } status } => (int)status >= 500 || status == HttpStatusCode.TooManyRequests,
        IOException => true,
        OperationCanceledException => true,
        _ => false,
    };

    [LoggerMessage(Level = LogLevel.Warning, Message = "S3 {Operation} failed on attempt {Attempt} ({Error}); trying again in {DelayMs:0} ms")]
    private static partial void LogRetry(ILogger logger, string operation, int attempt, double delayMs, string error);
}
