namespace Registry.Api.Ui;

/// <summary>Settings of the web UI, bound from <c>Registry:Ui</c> and <c>Registry:Auth:AllowSignUp</c>.</summary>
public sealed class UiOptions
{
    public const string Section = "Registry:Ui";

    /// <summary>How long a UI session lasts without use.</summary>
    public TimeSpan SessionLifetime { get; set; } = TimeSpan.FromHours(8);

    /// <summary>The host name shown in pull and login commands; by default the request's host.</summary>
    public string? PublicHost { get; set; }
}
