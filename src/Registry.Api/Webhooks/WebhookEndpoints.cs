using Registry.Api.Identity;
using Registry.Api.Rest;
using Registry.Storage.Webhooks;

namespace Registry.Api.Webhooks;

/// <summary>
/// <c>/api/v1/namespaces/{ns}/webhooks</c>: a namespace's webhooks and their delivery logs. Only those who may
/// administer the namespace (its user, its organization's owners, administrators) use them; see <see cref="WebhookService"/>.
/// </summary>
internal static class WebhookEndpoints
{
    public sealed record WebhookView(string Id, string Url, IReadOnlyList<string> Events, bool Enabled, string? CreatedBy, DateTime CreatedAt, DateTime UpdatedAt, string? Secret = null);

    public sealed record AttemptView(int Number, DateTime Time, int? StatusCode, string? Error, int DurationMs);

    public sealed record DeliveryView(
        string Id, string Event, string? Repository, string? Tag, string? Digest, DateTime Time, string State, int Attempts,
        int? LastStatusCode, string? LastError, int? DurationMs, DateTime? NextRetryAt, DateTime? CompletedAt, IReadOnlyList<AttemptView> AttemptLog);

    public sealed record WebhookBody(string? Url, List<string>? Events, string? Secret, bool? Enabled);

    public static void Map(RouteGroupBuilder api)
    {
        var webhooks = api.MapGroup("/namespaces/{ns}/webhooks");
        webhooks.MapGet("", ListAsync);
        webhooks.MapPost("", CreateAsync);
        webhooks.MapGet("/{id}", GetAsync);
        webhooks.MapPatch("/{id}", UpdateAsync);
        webhooks.MapDelete("/{id}", DeleteAsync);
        webhooks.MapPost("/{id}/test", TestAsync);
        webhooks.MapGet("/{id}/deliveries", DeliveriesAsync);
    }

    private static async Task<IResult> ListAsync(string ns, HttpContext context, WebhookService webhooks)
    {
        var list = await webhooks.ListAsync(ApiAuthenticationHandler.GetCaller(context), ns, context.RequestAborted);
        return Results.Ok(list.Select(w => View(w)));
    }

    private static async Task<IResult> CreateAsync(string ns, HttpContext context, WebhookService webhooks)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        var body = await ApiEndpoints.BodyAsync<WebhookBody>(context);
        var created = await webhooks.CreateAsync(caller, ns, Request(body), context.RequestAborted);

        // The secret is in this answer only.
        context.Response.Headers.CacheControl = "no-store";
        return Results.Created($"{ApiEndpoints.Prefix}/namespaces/{ns}/webhooks/{created.Webhook.Id}", View(created.Webhook, created.Secret));
    }

    private static async Task<IResult> GetAsync(string ns, string id, HttpContext context, WebhookService webhooks) =>
        Results.Ok(View(await webhooks.GetAsync(ApiAuthenticationHandler.GetCaller(context), ns, id, context.RequestAborted)));

    private static async Task<IResult> UpdateAsync(string ns, string id, HttpContext context, WebhookService webhooks)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        var body = await ApiEndpoints.BodyAsync<WebhookBody>(context);
        return Results.Ok(View(await webhooks.UpdateAsync(caller, ns, id, Request(body), context.RequestAborted)));
    }

    private static async Task<IResult> DeleteAsync(string ns, string id, HttpContext context, WebhookService webhooks)
    {
        await webhooks.DeleteAsync(ApiAuthenticationHandler.GetCaller(context), ns, id, context.RequestAborted);
        return Results.NoContent();
    }

    private static async Task<IResult> TestAsync(string ns, string id, HttpContext context, WebhookService webhooks)
    {
        var delivery = await webhooks.TestAsync(ApiAuthenticationHandler.GetCaller(context), ns, id, context.RequestAborted);
        return Results.Accepted($"{ApiEndpoints.Prefix}/namespaces/{ns}/webhooks/{id}/deliveries", View(new DeliveryRecord(delivery, [])));
    }

    private static async Task<IResult> DeliveriesAsync(string ns, string id, long? before, int? limit, HttpContext context, WebhookService webhooks)
    {
        var caller = ApiAuthenticationHandler.GetCaller(context);
        var deliveries = await webhooks.DeliveriesAsync(caller, ns, id, before, limit ?? WebhookService.DeliveryPageSize, context.RequestAborted);
        return Results.Ok(deliveries.Select(View));
    }

    private static WebhookRequest Request(WebhookBody body) => new(body.Url, body.Events, body.Secret, body.Enabled);

    private static WebhookView View(WebhookEntity w, string? secret = null) =>
        new(w.Id, w.Url, WebhookService.EventNames(w.Events).Split(',', StringSplitOptions.RemoveEmptyEntries), w.Enabled, w.CreatedBy, w.CreatedAt, w.UpdatedAt, secret);

    public static string StateName(WebhookDeliveryState state) => state.ToString().ToLowerInvariant();

    private static DeliveryView View(DeliveryRecord record)
    {
        var d = record.Delivery;
        return new DeliveryView(
            WebhookSender.DeliveryId(d), d.Event, d.Repository, d.Tag, d.Digest, d.CreatedAt, StateName(d.State), d.Attempts,
            d.LastStatusCode, d.LastError, d.LastDurationMs, d.NextAttemptAt, d.CompletedAt,
            record.Attempts.Select(a => new AttemptView(a.Number, a.Time, a.StatusCode, a.Error, a.DurationMs)).ToList());
    }
}
