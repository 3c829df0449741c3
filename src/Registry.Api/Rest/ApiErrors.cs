using System.Text.Json;
using Registry.Api.Identity;

namespace Registry.Api.Rest;

/// <summary>The REST API's error body, in the same shape as the distribution API's: <c>{"errors":[{"code","message"}]}</c>.</summary>
public static class ApiErrors
{
    public static async Task WriteAsync(HttpContext context, int status, string code, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var body = new { errors = new[] { new { code, message } } };
        await context.Response.WriteAsync(JsonSerializer.Serialize(body), context.RequestAborted);
    }

    /// <summary>A Retry-After value: whole seconds, at least one.</summary>
    public static string RetryAfterSeconds(TimeSpan wait) =>
        Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Turns refusals of the identity services into the API's statuses and codes.</summary>
    public static async ValueTask<object?> HandleAsync(EndpointFilterInvocationContext invocation, EndpointFilterDelegate next)
    {
        try
        {
            return await next(invocation);
        }
        catch (IdentityException e)
        {
            var (status, code) = e.Error switch
            {
                IdentityError.Invalid => (StatusCodes.Status400BadRequest, "INVALID"),
                IdentityError.NotFound => (StatusCodes.Status404NotFound, "NOT_FOUND"),
                IdentityError.Conflict => (StatusCodes.Status409Conflict, "CONFLICT"),
                IdentityError.TooManyRequests => (StatusCodes.Status429TooManyRequests, "TOO_MANY_REQUESTS"),
                _ => (StatusCodes.Status403Forbidden, "DENIED"),
            };
            if (e.RetryAfter is { } wait)
            {
                invocation.HttpContext.Response.Headers.RetryAfter = RetryAfterSeconds(wait);
            }

            await WriteAsync(invocation.HttpContext, status, code, e.Message);
            return Results.Empty;
        }
        catch (ApiException e)
        {
            await WriteAsync(invocation.HttpContext, e.Status, e.Code, e.Message);
            return Results.Empty;
        }
        catch (BadHttpRequestException e)
        {
            await WriteAsync(invocation.HttpContext, StatusCodes.Status400BadRequest, "INVALID", e.Message);
            return Results.Empty;
        }
    }
}

/// <summary>A refusal with its own status and code (<c>NO_NODE_FITS</c>, <c>MANIFEST_UNKNOWN</c>, …), written by <see cref="ApiErrors.HandleAsync"/>.</summary>
public sealed class ApiException(int status, string code, string message) : Exception(message)
{
    public int Status { get; } = status;

    public string Code { get; } = code;
}
