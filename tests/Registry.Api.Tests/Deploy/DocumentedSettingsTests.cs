namespace Registry.Api.Tests.Deploy;

/// <summary>
/// README names only settings the registry reads, and the deployment files set only settings README names: an
/// operator who copies a variable from either ends up with a setting that takes effect.
/// </summary>
public sealed class DocumentedSettingsTests
{
    private static readonly string Readme = DeployFiles.Read("README.md");

    [Fact]
    public void Every_setting_readme_names_is_one_the_registry_reads()
    {
        var text = Readme + DeployFiles.Read("deploy/README.md");
        var named = DocumentedSettings.Named(text);
        var asVariables = DocumentedSettings.NamedAsEnvironmentVariables(text);

        Assert.True(named.Count > 40, $"only {named.Count} settings found in README");
        Assert.Empty(named.Select(k => DocumentedSettings.Problem(k)).OfType<string>());
        Assert.Empty(asVariables.Select(k => DocumentedSettings.Problem(k, asEnvironmentVariable: true)).OfType<string>());
    }

    [Fact]
    public void The_storage_and_database_settings_of_the_contract_are_documented_as_environment_variables()
    {
        foreach (var variable in new[]
                 {
                     "Registry__Storage__Provider", "Registry__Storage__S3__Endpoint", "Registry__Storage__S3__Bucket",
                     "Registry__Storage__S3__AccessKey", "Registry__Storage__S3__SecretKey", "Registry__Storage__S3__Region",
                     "Registry__Storage__S3__ForcePathStyle", "Registry__Storage__S3__Redirect", "Registry__Database__Provider",
                     "Registry__Database__ConnectionString", "Registry__Secrets__Key", "Registry__PublicUrl",
                 })
        {
            Assert.Contains(variable, Readme, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_misspelt_setting_is_reported()
    {
        // The check above can fail: names that no options class binds are reported, in either spelling.
        var named = DocumentedSettings.Named("""
            `Registry:Storage:S3:Bukket` and Registry__Gc__ReviewDelai:

            | `Registry:Gc:ReviewDelay` / `Sweep` | … |
            """);

        Assert.NotNull(DocumentedSettings.Problem("Registry:Storage:S3:Bukket"));
        Assert.NotNull(DocumentedSettings.Problem("Registry:Gc:ReviewDelai"));
        Assert.NotNull(DocumentedSettings.Problem("Registry:Gc:Sweep"));
        Assert.Null(DocumentedSettings.Problem("Registry:Gc:ReviewDelay"));
        // A list given one value as an environment variable is silently ignored by the binder: it needs indexes.
        Assert.Contains("is a list", DocumentedSettings.Problem("Registry:Proxy:KnownNetworks", asEnvironmentVariable: true), StringComparison.Ordinal);
        Assert.Null(DocumentedSettings.Problem("Registry:Proxy:KnownNetworks:0", asEnvironmentVariable: true));
        Assert.Null(DocumentedSettings.Problem("Registry:Proxy:KnownNetworks"));
        Assert.Equal(
            ["Registry:Gc:ReviewDelai", "Registry:Gc:ReviewDelay", "Registry:Gc:Sweep", "Registry:Storage:S3:Bukket"],
            named.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Every_variable_the_compose_file_and_the_kubernetes_manifests_set_is_one_readme_names()
    {
        var documented = DocumentedSettings.Named(Readme);
        var compose = DeployFiles.LoadSingle("docker-compose.yml").Map("services").Map("registry").Map("environment").Keys;
        var container = Assert.Single(KubernetesManifestTests.Object("Deployment").Map("spec").Map("template").Map("spec").Maps("containers"));
        var kubernetes = container.Maps("env").Select(e => e.String("name"))
            .Concat(KubernetesManifestTests.Object("Secret").Map("stringData").Keys);

        var used = compose.Concat(kubernetes).Distinct(StringComparer.Ordinal).ToList();

        Assert.All(used, variable =>
        {
            if (variable.StartsWith("Registry__", StringComparison.Ordinal))
            {
                var key = variable.Replace("__", ":", StringComparison.Ordinal);
                Assert.Contains(key, documented);
                Assert.Null(DocumentedSettings.Problem(key, asEnvironmentVariable: true));
            }
            else
            {
                Assert.Contains($"`{variable}`", Readme, StringComparison.Ordinal);
            }
        });
        Assert.Contains("REGISTRY_ADMIN_PASSWORD", used);
        Assert.Contains("Registry__Secrets__Key", used);
    }
}
