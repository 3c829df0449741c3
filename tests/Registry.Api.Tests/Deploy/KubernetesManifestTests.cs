namespace Registry.Api.Tests.Deploy;

/// <summary>
/// deploy/kubernetes/: every file parses as YAML and the kustomization applies them all; N replicas with probes of
/// /healthz and /readyz, a non-root security context and resource requests; PostgreSQL, S3 and the secrets key
/// from the Secret; a Service and an Ingress that reach the pods and let large uploads through.
/// </summary>
public sealed class KubernetesManifestTests
{
    private const string Directory = "deploy/kubernetes";

    private static readonly string[] PlaceholderKeys = ["Registry__Storage__S3__SecretKey", "Registry__Secrets__Key", "REGISTRY_ADMIN_PASSWORD"];

    [Fact]
    public void The_kustomization_applies_every_manifest_of_the_directory()
    {
        var kustomization = DeployFiles.LoadSingle($"{Directory}/kustomization.yaml");
        var manifests = System.IO.Directory.GetFiles(DeployFiles.PathOf(Directory), "*.yaml")
            .Select(Path.GetFileName)
            .Where(f => f != "kustomization.yaml")
            .Order(StringComparer.Ordinal);

        Assert.Equal("Kustomization", kustomization.String("kind"));
        Assert.Equal(manifests, kustomization.Strings("resources").Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_manifests_hold_one_object_of_each_expected_kind_in_the_registry_namespace()
    {
        var objects = Manifests().ToList();

        Assert.Equal(
            ["Deployment", "Ingress", "Namespace", "Secret", "Service"],
            objects.Select(o => o.String("kind")).Order(StringComparer.Ordinal));
        Assert.All(objects.Where(o => o.String("kind") != "Namespace"), o => Assert.Equal("registry", o.Map("metadata").String("namespace")));
        Assert.All(objects, o => Assert.False(string.IsNullOrEmpty(o.String("apiVersion"))));
    }

    [Fact]
    public void The_deployment_runs_several_non_root_replicas_with_liveness_and_readiness_probes_and_requests()
    {
        var deployment = Object("Deployment");
        var pod = deployment.Map("spec").Map("template").Map("spec");
        var container = Assert.Single(pod.Maps("containers"));

        Assert.True(int.Parse(deployment.Map("spec").String("replicas"), System.Globalization.CultureInfo.InvariantCulture) > 1);
        Assert.Equal("/healthz", container.Map("livenessProbe").Map("httpGet").String("path"));
        Assert.Equal("/readyz", container.Map("readinessProbe").Map("httpGet").String("path"));
        Assert.Equal("true", pod.Map("securityContext").String("runAsNonRoot"));
        Assert.NotEqual("0", pod.Map("securityContext").String("runAsUser"));
        Assert.Equal("false", container.Map("securityContext").String("allowPrivilegeEscalation"));
        Assert.Equal("true", container.Map("securityContext").String("readOnlyRootFilesystem"));
        Assert.Equal(["ALL"], container.Map("securityContext").Map("capabilities").Strings("drop"));
        var requests = container.Map("resources").Map("requests");
        Assert.True(requests.Has("cpu") && requests.Has("memory"));
        Assert.Equal("5000", Assert.Single(container.Maps("ports")).String("containerPort"));
    }

    [Fact]
    public void The_database_the_bucket_and_the_secrets_key_come_from_the_secret()
    {
        var secret = Object("Secret");
        var container = Assert.Single(Object("Deployment").Map("spec").Map("template").Map("spec").Maps("containers"));
        var inline = container.Maps("env").ToDictionary(e => e.String("name"), e => e.StringOrNull("value"), StringComparer.Ordinal);

        Assert.Equal(secret.Map("metadata").String("name"), Assert.Single(container.Maps("envFrom")).Map("secretRef").String("name"));
        Assert.Equal("Postgres", inline["Registry__Database__Provider"]);
        Assert.Equal("S3", inline["Registry__Storage__Provider"]);
        var secretKeys = secret.Map("stringData").Keys.ToList();
        foreach (var key in new[]
                 {
                     "Registry__Database__ConnectionString", "Registry__Storage__S3__Endpoint", "Registry__Storage__S3__Bucket",
                     "Registry__Storage__S3__AccessKey", "Registry__Storage__S3__SecretKey", "Registry__Secrets__Key",
                 })
        {
            Assert.Contains(key, secretKeys);
            Assert.DoesNotContain(key, inline.Keys); // a secret is never also written into the Deployment
        }

        // Placeholders, so that nobody runs with a published password or key.
        Assert.All(
            PlaceholderKeys,
            key => Assert.Contains("REPLACE-ME", secret.Map("stringData").String(key), StringComparison.Ordinal));
    }

    [Fact]
    public void The_service_selects_the_pods_and_the_ingress_reaches_the_service_without_limiting_upload_size()
    {
        var deployment = Object("Deployment");
        var service = Object("Service");
        var ingress = Object("Ingress");
        var podLabels = deployment.Map("spec").Map("template").Map("metadata").Map("labels");
        var selector = service.Map("spec").Map("selector");

        Assert.All(selector.Keys, key => Assert.Equal(selector.String(key), podLabels.String(key)));
        var container = Assert.Single(deployment.Map("spec").Map("template").Map("spec").Maps("containers"));
        var portName = Assert.Single(container.Maps("ports")).String("name");
        Assert.Equal(portName, Assert.Single(service.Map("spec").Maps("ports")).String("targetPort"));

        var backend = Assert.Single(Assert.Single(ingress.Map("spec").Maps("rules")).Map("http").Maps("paths")).Map("backend").Map("service");
        Assert.Equal(service.Map("metadata").String("name"), backend.String("name"));
        Assert.Equal(Assert.Single(service.Map("spec").Maps("ports")).String("name"), backend.Map("port").String("name"));
        var annotations = ingress.Map("metadata").Map("annotations");
        Assert.Equal("0", annotations.String("nginx.ingress.kubernetes.io/proxy-body-size"));
        Assert.Equal("off", annotations.String("nginx.ingress.kubernetes.io/proxy-request-buffering"));
    }

    /// <summary>Every object of every manifest (the kustomization is not one).</summary>
    internal static IEnumerable<YamlMap> Manifests() =>
        System.IO.Directory.GetFiles(DeployFiles.PathOf(Directory), "*.yaml")
            .Where(f => Path.GetFileName(f) != "kustomization.yaml")
            .Order(StringComparer.Ordinal)
            .SelectMany(f => DeployFiles.LoadDocuments(Path.GetRelativePath(DeployFiles.Root, f)));

    internal static YamlMap Object(string kind) => Assert.Single(Manifests(), o => o.String("kind") == kind);
}
