using System.Diagnostics;
using System.Net.Http.Headers;
using System.Reflection;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Registry.Api.Security;
using Registry.Storage.Webhooks;

namespace Registry.Api.Webhooks;

/// <summary>
/// Posts one delivery: a JSON body, signed with HMAC-SHA256 of the exact bytes under the webhook's secret
/// (<c>X-Registry-Signature-256: sha256=HEX</c>), within <see cref="WebhookOptions.Timeout"/>. Redirects are not
/// followed (they could lead past <see cref="WebhookOptions.AllowedHosts"/>); any answer but 2xx is a failure.
/// </summary>
public sealed class WebhookSender(IHttpClientFactory clients, KeyEncryptionKey keyEncryptionKey, IOptions<WebhookOptions> options, TimeProvider time)
{
    public const string ClientName = "webhooks";
    public const string SignatureHeader = "X-Registry-Signature-256";
    public const string EventHeader = "X-Registry-Event";
    public const string DeliveryHeader = "X-Registry-Delivery";

    public static readonly string UserAgent =
        "Registry-Webhooks/" + (typeof(WebhookSender).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "1.0");

    public async Task<WebhookAttemptResult> SendAsync(ClaimedDelivery claim, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        var settings = options.Value;
        if (!Uri.TryCreate(claim.Url, UriKind.Absolute, out var url) || !WebhookUrls.IsAllowed(url, settings.AllowedHosts))
        {
            return new WebhookAttemptResult(null, "the webhook's host is not allowed (Registry:Webhooks:AllowedHosts)", TimeSpan.Zero);
        }

        byte[] body;
        byte[] signature;
        try
        {
            body = Body(claim.Delivery);
            signature = HMACSHA256.HashData(WebhookSecrets.Open(keyEncryptionKey, claim.WebhookId, claim.SealedSecret), body);
        }
        catch (KeyProtectionException e)
        {
            return new WebhookAttemptResult(null, e.Message, TimeSpan.Zero);
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.UserAgent.ParseAdd(UserAgent);
        request.Headers.Add(SignatureHeader, "sha256=" + Convert.ToHexStringLower(signature));
        request.Headers.Add(EventHeader, claim.Delivery.Event);
        request.Headers.Add(DeliveryHeader, DeliveryId(claim.Delivery));

        using var timeout = new CancellationTokenSource(settings.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        try
        {
            using var response = await clients.CreateClient(ClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            return new WebhookAttemptResult((int)response.StatusCode, null, Stopwatch.GetElapsedTime(started));
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return new WebhookAttemptResult(null, $"timed out after {settings.Timeout.TotalSeconds:0.###} s", Stopwatch.GetElapsedTime(started));
        }
        catch (HttpRequestException e)
        {
            return new WebhookAttemptResult(null, e.InnerException is { } inner ? $"{e.Message} ({inner.Message})" : e.Message, Stopwatch.GetElapsedTime(started));
        }
    }

    public static string DeliveryId(WebhookDeliveryEntity delivery) => delivery.Id.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The body, always in this order: event, repository, tag, digest, mediaType, actor, time, id.</summary>
    public static byte[] Body(WebhookDeliveryEntity delivery)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("event", delivery.Event);
            json.WriteString("repository", delivery.Repository);
            json.WriteString("tag", delivery.Tag);
            json.WriteString("digest", delivery.Digest);
            json.WriteString("mediaType", delivery.MediaType);
            json.WriteString("actor", delivery.Actor);
            json.WriteString("time", delivery.CreatedAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
            json.WriteString("id", DeliveryId(delivery));
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }
}
