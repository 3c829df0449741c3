using Microsoft.AspNetCore.Mvc;
using Registry.Api.Webhooks;
using Registry.Storage.Webhooks;

namespace Registry.Api.Ui.Pages.Namespaces;

/// <summary>
/// A namespace's webhooks with their recent deliveries: adding one (its secret is shown once), sending a test
/// delivery, deleting one after a confirmation. Only for those who may administer the namespace; see <see cref="WebhookService"/>.
/// </summary>
public sealed class WebhooksModel : UiPage
{
    public const int RecentDeliveries = 10;

    protected override bool RequiresSignIn => true;

    [BindProperty(SupportsGet = true)]
    public string Ns { get; set; } = string.Empty;

    /// <summary>The webhook whose deletion is being confirmed (<c>?confirm=ID</c>).</summary>
    [BindProperty(SupportsGet = true)]
    public string? Confirm { get; set; }

    [BindProperty]
    public string? WebhookUrl { get; set; }

    [BindProperty]
    public List<string> Events { get; set; } = [];

    [BindProperty]
    public bool Enabled { get; set; }

    [BindProperty]
    public string? Id { get; set; }

    public CreatedWebhook? Created { get; private set; }

    public IReadOnlyList<(WebhookEntity Webhook, IReadOnlyList<DeliveryRecord> Deliveries)> Webhooks { get; private set; } = [];

    public async Task OnGetAsync() => await LoadAsync();

    public async Task<IActionResult> OnPostCreateAsync()
    {
        await TryAsync(async () => Created = await Service<WebhookService>().CreateAsync(Caller!, Ns, new WebhookRequest(WebhookUrl, Events, Secret: null, Enabled), Aborted));

        // The secret is in this answer only: no redirect, and the page must not be cached.
        Response.Headers.CacheControl = "no-store";
        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostTestAsync()
    {
        await Service<WebhookService>().TestAsync(Caller!, Ns, Id ?? string.Empty, Aborted);
        Flash = "Test delivery queued; reload to see its status.";
        return Redirect($"/namespaces/{Ns}/webhooks#webhook-{Id}");
    }

    public async Task<IActionResult> OnPostDeleteAsync()
    {
        await Service<WebhookService>().DeleteAsync(Caller!, Ns, Id ?? string.Empty, Aborted);
        Flash = "Webhook deleted.";
        return Redirect($"/namespaces/{Ns}/webhooks");
    }

    public static string StatusText(WebhookDeliveryEntity d) =>
        d.LastStatusCode is { } code ? code.ToString(System.Globalization.CultureInfo.InvariantCulture) : d.LastError ?? "not sent yet";

    private async Task LoadAsync()
    {
        var webhooks = Service<WebhookService>();
        var list = await webhooks.ListAsync(Caller!, Ns, Aborted);
        var loaded = new List<(WebhookEntity, IReadOnlyList<DeliveryRecord>)>(list.Count);
        foreach (var webhook in list)
        {
            loaded.Add((webhook, await webhooks.DeliveriesOfAsync(webhook.Id, before: null, RecentDeliveries, Aborted)));
        }

        Webhooks = loaded;
    }
}
