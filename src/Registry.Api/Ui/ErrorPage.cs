using System.Net;

namespace Registry.Api.Ui;

/// <summary>
/// The page for an error status of a UI request without a body of its own (404 for what does not exist or may
/// not be seen, 400 for a form without a valid antiforgery token, 403, 429 for a form sent too often). Plain HTML: it must work whatever failed.
/// </summary>
public static class ErrorPage
{
    public static Task WriteAsync(HttpContext context)
    {
        var (title, message) = context.Response.StatusCode switch
        {
            404 => ("Not found", "There is nothing here, or you may not see it."),
            403 => ("Not allowed", "You may not do this."),
            400 => ("Bad request", "The request was refused. If you sent a form, reload the page and try again."),
            429 => ("Too many attempts", $"Too many requests from your network; try again in {context.Response.Headers.RetryAfter} seconds."),
            var code => ("Error " + code, "Something went wrong."),
        };
        context.Response.ContentType = "text/html; charset=utf-8";
        var html = $"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{WebUtility.HtmlEncode(title)} · Registry</title><link rel="stylesheet" href="/static/ui.css?v={UiAssets.Version}"></head>
            <body><header class="top"><a class="brand" href="/">Registry</a><nav aria-label="Main"><a href="/">Explore</a></nav></header>
            <main><h1>{WebUtility.HtmlEncode(title)}</h1><p>{WebUtility.HtmlEncode(message)}</p><p><a href="/">Back to Explore</a></p></main></body></html>
            """;
        return context.Response.WriteAsync(html, context.RequestAborted);
    }
}
