using System.Text.Json;

namespace Registry.Node.Client;

/// <summary>Small bodies (manifests, configs, tokens, errors) read with a hard size limit, never trusting Content-Length.</summary>
internal static class HttpBodies
{
    public static async Task<byte[]> ReadBoundedAsync(HttpContent content, int maxBytes, string what, CancellationToken cancellationToken)
    {
        if (content.Headers.ContentLength is { } declared && declared > maxBytes)
        {
            throw new RegistryClientException($"{what} is {declared} bytes; the limit is {maxBytes}");
        }

        var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    throw new RegistryClientException($"{what} is larger than the limit of {maxBytes} bytes");
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
    }

    /// <summary>
    /// The first entry of a distribution error body, <c>{"errors":[{"code","message"}]}</c>, or an
    /// OAuth2 token error, <c>{"error","error_description"}</c>, if the body is one.
    /// </summary>
    public static async Task<(string? Code, string? Message)> ReadErrorAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            var body = await ReadBoundedAsync(response.Content, 64 * 1024, "error body", cancellationToken).ConfigureAwait(false);
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Array && errors.GetArrayLength() > 0)
            {
                var first = errors[0];
                return (
                    first.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null,
                    first.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null);
            }

            if (document.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String)
            {
                return (
                    error.GetString(),
                    document.RootElement.TryGetProperty("error_description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null);
            }
        }
        catch (Exception e) when (e is JsonException or RegistryClientException or HttpRequestException or IOException)
        {
            // Not a distribution error body: the status code alone has to do.
        }

        return (null, null);
    }
}
