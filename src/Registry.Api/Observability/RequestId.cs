namespace Registry.Api.Observability;

/// <summary>
/// Every answer carries <c>X-Request-Id</c>: the request's <see cref="HttpContext.TraceIdentifier"/>, which ASP.NET
/// Core also puts in the logging scope of every line logged while the request runs (<c>RequestId</c>, beside
/// <c>TraceId</c> and <c>SpanId</c>). A user who quotes the header lets an operator find the request's log lines. An
/// id sent by the client is not taken: it would let anyone put words into the log and tie unrelated requests together.
/// </summary>
internal static class RequestId
{
    public const string Header = "X-Request-Id";

    public static Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        // At the start of the answer: whatever cleared the headers meanwhile (an error page), the id is still sent.
        context.Response.OnStarting(static state =>
        {
            var c = (HttpContext)state;
            c.Response.Headers[Header] = c.TraceIdentifier;
            return Task.CompletedTask;
        }, context);
        return next(context);
    }
}
