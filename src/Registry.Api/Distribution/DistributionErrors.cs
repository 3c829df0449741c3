using System.Text.Json;
using Registry.Core;

namespace Registry.Api.Distribution;

/// <summary>Writes the distribution API's error body, <c>{"errors":[{"code","message","detail"}]}</c>.</summary>
internal static class DistributionErrors
{
    public static async Task WriteAsync(HttpContext context, ErrorCode error, string? detail)
    {
        var response = context.Response;
        response.StatusCode = error.Status;
        if (HttpMethods.IsHead(context.Request.Method))
        {
            return;
        }

        response.ContentType = "application/json";
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartArray("errors");
            json.WriteStartObject();
            json.WriteString("code", error.Code);
            json.WriteString("message", error.Message);
            if (detail is not null)
            {
                json.WriteString("detail", detail);
            }

            json.WriteEndObject();
            json.WriteEndArray();
            json.WriteEndObject();
        }

        response.ContentLength = buffer.Length;
        await response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted);
    }
}
