using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using Registry.Api.Identity;
using Registry.Api.Policies;
using Registry.Storage.Policies;

namespace Registry.Api.Ui.Pages.Namespaces;

/// <summary>
/// A namespace's policies: its usage against its quota with each repository's usage, and its immutable-tag rules.
/// Visible to whoever may see the namespace (<see cref="NamespaceAccess"/>); rules are managed by its owners, the
/// quota only by administrators. To anyone else the page does not exist.
/// </summary>
public sealed class SettingsModel : UiPage
{
    public static readonly IReadOnlyList<(string Name, long Bytes)> Units = [("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000)];

    [BindProperty(Name = "ns", SupportsGet = true)]
    public string Namespace { get; set; } = string.Empty;

    [BindProperty]
    public string? Limit { get; set; }

    [BindProperty]
    public string? Unit { get; set; }

    [BindProperty]
    public string? Pattern { get; set; }

    [BindProperty]
    public string? Repository { get; set; }

    [BindProperty]
    public long RuleId { get; set; }

    public QuotaReport Report { get; private set; } = null!;

    public IReadOnlyList<ImmutableTagRuleEntity> Rules { get; private set; } = [];

    public bool MayManageRules { get; private set; }

    public bool MaySetQuota { get; private set; }

    /// <summary>Usage as a share of the quota, in percent (more than 100 when the quota was lowered below it).</summary>
    public int? Percent => Report.LimitBytes is { } limit ? (int)Math.Round(100.0 * Report.UsedBytes / limit) : null;

    public async Task<IActionResult> OnGetAsync() => await LoadAsync() ? Page() : NotFound();

    public async Task<IActionResult> OnPostQuotaAsync()
    {
        if (!await LoadAsync())
        {
            return NotFound();
        }

        if (!MaySetQuota)
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        var unit = Units.FirstOrDefault(u => u.Name == Unit);
        if (unit.Name is null || !decimal.TryParse(Limit, NumberStyles.Number, CultureInfo.InvariantCulture, out var amount) || amount <= 0)
        {
            Error = "Enter the quota as a positive number, e.g. 10 GB.";
            return Page();
        }

        var bytes = amount * unit.Bytes > PolicyService.MaxLimitBytes ? PolicyService.MaxLimitBytes + 1 : (long)decimal.Round(amount * unit.Bytes);
        if (!await TryPolicyAsync(() => Service<PolicyService>().SetQuotaAsync(Namespace, bytes, Caller!.Name, Aborted)))
        {
            return Page();
        }

        await Service<AuditLog>().WriteAsync(PolicyAuditActions.QuotaSet, Caller!.Name, Namespace, detail: $"limitBytes={bytes}");
        Flash = $"The quota of {Namespace} is {ByteSize.Format(bytes)}.";
        return Redirect(Self);
    }

    public async Task<IActionResult> OnPostRemoveQuotaAsync()
    {
        if (!await LoadAsync())
        {
            return NotFound();
        }

        if (!MaySetQuota)
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        if (await Service<PolicyService>().DeleteQuotaAsync(Namespace, Aborted))
        {
            await Service<AuditLog>().WriteAsync(PolicyAuditActions.QuotaDelete, Caller!.Name, Namespace);
        }

        Flash = $"{Namespace} has no quota.";
        return Redirect(Self);
    }

    public async Task<IActionResult> OnPostAddRuleAsync()
    {
        if (!await LoadAsync())
        {
            return NotFound();
        }

        if (!MayManageRules)
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        ImmutableTagRuleEntity? rule = null;
        var repository = string.IsNullOrWhiteSpace(Repository) ? null : Repository.Trim();
        if (!await TryPolicyAsync(async () => rule = await Service<PolicyService>().AddRuleAsync(Namespace, Pattern?.Trim(), repository, Caller!.Name, Aborted)))
        {
            return Page();
        }

        await Service<AuditLog>().WriteAsync(PolicyAuditActions.ImmutableRuleCreate, Caller!.Name, rule!.Repository ?? Namespace, detail: $"pattern={rule.Pattern}");
        Flash = $"Tags matching {rule.Pattern} are immutable in {rule.Repository ?? "every repository of " + Namespace}.";
        return Redirect(Self);
    }

    public async Task<IActionResult> OnPostDeleteRuleAsync()
    {
        if (!await LoadAsync())
        {
            return NotFound();
        }

        if (!MayManageRules)
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        if (await Service<PolicyService>().DeleteRuleAsync(Namespace, RuleId, Aborted) is not { } rule)
        {
            return NotFound();
        }

        await Service<AuditLog>().WriteAsync(PolicyAuditActions.ImmutableRuleDelete, Caller!.Name, rule.Repository ?? Namespace, detail: $"pattern={rule.Pattern}");
        Flash = $"The rule {rule.Pattern} is deleted.";
        return Redirect(Self);
    }

    private string Self => $"/namespaces/{Namespace}/settings";

    /// <summary>Runs a change; a refusal of the policy service becomes the page's error message.</summary>
    private async Task<bool> TryPolicyAsync(Func<Task> change)
    {
        try
        {
            await change();
            return true;
        }
        catch (PolicyException e)
        {
            Error = e.Message;
            return false;
        }
    }

    /// <returns>False when the namespace does not exist or the visitor may not see it: both are a 404.</returns>
    private async Task<bool> LoadAsync()
    {
        var access = Service<NamespaceAccess>();
        var policies = Service<PolicyService>();
        if (!await access.MaySeeAsync(Caller, Namespace, Aborted) || !await policies.NamespaceExistsAsync(Namespace, Aborted))
        {
            return false;
        }

        MayManageRules = await access.MayManageRulesAsync(Caller!, Namespace, Aborted);
        MaySetQuota = NamespaceAccess.MaySetQuota(Caller!);
        Report = await policies.GetQuotaAsync(Namespace, Aborted);
        Rules = await policies.ListRulesAsync(Namespace, Aborted);
        return true;
    }
}
