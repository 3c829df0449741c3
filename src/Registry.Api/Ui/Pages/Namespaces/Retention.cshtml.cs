using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Registry.Api.Identity;
using Registry.Api.Retention;
using Registry.Storage.Metadata;
using Registry.Storage.Retention;
using Registry.Storage.Services;

namespace Registry.Api.Ui.Pages.Namespaces;

/// <summary>
/// A namespace's retention policies: list, add, delete, dry run (the report shows what would be deleted), run now,
/// and the last runs' reports. For those who may administer the namespace; members are refused, others see a 404.
/// </summary>
public sealed class RetentionModel : UiPage
{
    public const int ShownRuns = 5;

    [BindProperty(SupportsGet = true)]
    public string Ns { get; set; } = string.Empty;

    [BindProperty]
    public long PolicyId { get; set; }

    [BindProperty]
    public string? Repository { get; set; }

    [BindProperty]
    public string? TagPattern { get; set; }

    [BindProperty]
    public string? KeepMostRecent { get; set; }

    [BindProperty]
    public string? KeepYoungerThan { get; set; }

    [BindProperty]
    public string? KeepPulledWithin { get; set; }

    [BindProperty]
    public string? UntaggedOlderThan { get; set; }

    [BindProperty]
    public string? Schedule { get; set; }

    /// <summary>An unchecked box posts nothing, so the posted default is false; the empty form shows it checked.</summary>
    [BindProperty]
    public bool Enabled { get; set; }

    public IReadOnlyList<RetentionPolicyEntity> Policies { get; private set; } = [];

    public IReadOnlyDictionary<long, List<RetentionReport>> Runs { get; private set; } = new Dictionary<long, List<RetentionReport>>();

    /// <summary>The report of the run (dry or real) this request made.</summary>
    public RetentionReport? Report { get; private set; }

    public bool DeleteEnabled => Service<IOptions<RegistryStorageOptions>>().Value.DeleteEnabled;

    protected override bool RequiresSignIn => true;

    public async Task<IActionResult> OnGetAsync()
    {
        Enabled = true;
        await LoadAsync();
        return Page();
    }

    public async Task<IActionResult> OnPostCreateAsync()
    {
        await LoadAsync();
        int? keep = null;
        if (!string.IsNullOrWhiteSpace(KeepMostRecent))
        {
            if (!int.TryParse(KeepMostRecent.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            {
                Error = "keepMostRecent: must be a whole number";
                return Page();
            }

            keep = n;
        }

        var input = RetentionRules.Normalize(new RetentionPolicyInput(
            Repository, TagPattern, keep, KeepYoungerThan, KeepPulledWithin, UntaggedOlderThan, Schedule, Enabled));
        if (RetentionRules.Validate(Ns, input) is { } error)
        {
            Error = error;
            return Page();
        }

        var policy = await Service<RetentionPolicyService>().CreateAsync(Ns, input, Caller!.Name, Aborted);
        await Service<AuditLog>().WriteAsync(RetentionAuditActions.PolicyCreate, Caller.Name, RetentionPolicyService.Target(Ns, policy.Id),
            detail: RetentionEndpoints.Describe(policy));
        Flash = $"Policy {policy.Id} added.";
        return Redirect($"/namespaces/{Ns}/retention");
    }

    public async Task<IActionResult> OnPostDeleteAsync()
    {
        await LoadAsync();
        if (!await Service<RetentionPolicyService>().DeleteAsync(Ns, PolicyId, Aborted))
        {
            return NotFound();
        }

        await Service<AuditLog>().WriteAsync(RetentionAuditActions.PolicyDelete, Caller!.Name, RetentionPolicyService.Target(Ns, PolicyId));
        Flash = $"Policy {PolicyId} deleted.";
        return Redirect($"/namespaces/{Ns}/retention");
    }

    public Task<IActionResult> OnPostDryRunAsync() => RunAsync(dryRun: true);

    public Task<IActionResult> OnPostRunAsync() => RunAsync(dryRun: false);

    private async Task<IActionResult> RunAsync(bool dryRun)
    {
        Enabled = true;
        await LoadAsync();
        if (await Service<RetentionPolicyService>().FindAsync(Ns, PolicyId, Aborted) is not { } policy)
        {
            return NotFound();
        }

        if (!dryRun && !DeleteEnabled)
        {
            Error = "Deletes are disabled on this registry; only dry runs are possible.";
            return Page();
        }

        Report = await Service<RetentionRunner>().RunAsync(policy, dryRun, Author, Aborted);
        if (!dryRun)
        {
            await LoadAsync();
        }

        return Page();
    }

    private async Task LoadAsync()
    {
        await RetentionAccess.RequireAsync(Caller!, Ns, Service<PermissionService>(), Aborted);
        var service = Service<RetentionPolicyService>();
        Policies = await service.ListAsync(Ns, Aborted);
        var runs = new Dictionary<long, List<RetentionReport>>();
        foreach (var policy in Policies)
        {
            runs[policy.Id] = await service.RunsAsync(policy.Id, ShownRuns, Aborted);
        }

        Runs = runs;
    }
}
