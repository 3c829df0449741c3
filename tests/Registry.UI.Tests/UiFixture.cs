using System.Net;
using System.Net.Http.Json;
using Microsoft.Playwright;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.UI.Tests;

/// <summary>
/// One registry process, one Chromium and one pushed image shared by the UI tests. The image
/// <c>admin/ui-app:v1</c> is a three-layer test image plus a <c>docker build</c> step that adds a label holding
/// an XSS payload, an environment variable and an exposed port: three real layers and three empty ones.
/// Anonymous pulls are on, so that an anonymous visitor sees public repositories.
/// </summary>
public sealed class UiFixture : IAsyncLifetime, IDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string AppRepository = "admin/ui-app";
    public const string AppDescription =
        "# ui-app\n\nA small **busybox** image that the web UI's tests push with `docker build`.\n\n- runs `/app/run.sh`\n- prints a greeting\n";

    public const string LabelPayload = "<img src=x onerror=\"window.__xss=1\">label";

    private readonly TemporaryDirectory _directory = new("registry-ui");
    private readonly List<string> _localImages = [];
    private IPlaywright? _playwright;

    public RegistryProcess Registry { get; private set; } = null!;

    public IBrowser Browser { get; private set; } = null!;

    /// <summary>A docker client logged in as admin, with a configuration directory of its own.</summary>
    public DockerCli Docker { get; private set; } = null!;

    public TestImage AppImage { get; private set; } = null!;

    public static string ScreenshotDirectory => Path.Combine(RepositoryRoot.Path, "TestResults", "screenshots");

    public string NewDirectory(string name)
    {
        var path = _directory.Combine(name + "-" + TestImages.NewMarker());
        Directory.CreateDirectory(path);
        return path;
    }

    public async Task InitializeAsync()
    {
        Registry = await RegistryProcess.StartAsync(environment: new Dictionary<string, string?>
        {
            [RegistryProcess.AnonymousPullVariable] = "true",
        });
        Docker = DockerCli.Default.WithConfigDirectory(NewDirectory("docker-admin"));
        await Docker.EnsureAvailableAsync();
        (await Docker.LoginAsync(Registry.HostPort, Registry.Admin)).EnsureSuccess();

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        });

        AppImage = await PushBuiltImageAsync(AppRepository + ":v1");

        // Set through the REST API: the UI's own settings form is tested on repositories of its own.
        using var http = new HttpClient { BaseAddress = Registry.BaseAddress };
        http.DefaultRequestHeaders.Authorization = Registry.Admin.BasicHeader();
        using var patch = await http.PatchAsJsonAsync("api/v1/repositories/" + AppRepository, new { visibility = "public", description = AppDescription });
        patch.EnsureSuccessStatusCode();
    }

    /// <summary>Loads a fresh three-layer test image and tags it <c>HOST/REFERENCE</c>, then pushes it.</summary>
    public async Task<TestImage> PushTestImageAsync(string reference)
    {
        var image = TestImages.Create(layerCount: 3);
        var local = await LoadAsync(image);
        var remote = $"{Registry.HostPort}/{reference}";
        await Docker.TagAsync(local, remote);
        _localImages.Add(remote);
        await Docker.PushAsync(remote);
        return image;
    }

    /// <summary>A new browser context and page; signed in as admin unless <paramref name="signedIn"/> is false.</summary>
    public async Task<IPage> NewPageAsync(bool signedIn = true)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Registry.BaseAddress.ToString().TrimEnd('/'),
            ViewportSize = new ViewportSize { Width = 1200, Height = 900 },
        });
        var page = await context.NewPageAsync();
        if (signedIn)
        {
            await SignInAsync(page, Registry.Admin.Username, Registry.Admin.Password);
        }

        return page;
    }

    /// <summary>Signs in through the login form; a failure carries the answer and the end of the registry's log.</summary>
    public async Task SignInAsync(IPage page, string username, string password)
    {
        try
        {
            await page.GotoAsync("/login");
            await page.GetByLabel("User name").FillAsync(username);
            await page.GetByLabel("Password").FillAsync(password);
            var response = await page.RunAndWaitForResponseAsync(
                () => page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync(),
                r => r.Request.Method == "POST" && new Uri(r.Url).AbsolutePath == "/login");
            if (response.Status != (int)HttpStatusCode.Redirect)
            {
                throw new InvalidOperationException($"Signing in as {username} answered {response.Status}: {await response.TextAsync()}");
            }

            // Polled in the page rather than awaited as a "load" event: Playwright occasionally misses the load
            // event of the page a form post redirects to, although the document has loaded.
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Sign out" })).ToBeVisibleAsync();
        }
        catch (Exception e) when (e is TimeoutException or InvalidOperationException or PlaywrightException)
        {
            var log = Registry.Output;
            throw new InvalidOperationException($"Signing in as {username} failed at {page.Url}; the registry's log ends with:\n{log[Math.Max(0, log.Length - 6000)..]}", e);
        }
    }

    public static async Task ScreenshotAsync(IPage page, string name)
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });
    }

    /// <summary>An HTTP client for the registry that keeps cookies and never follows redirects.</summary>
    public HttpClient NewHttpClient() =>
        new(new HttpClientHandler { CookieContainer = new CookieContainer(), AllowAutoRedirect = false }) { BaseAddress = Registry.BaseAddress };

    public async Task DisposeAsync()
    {
        foreach (var reference in _localImages)
        {
            await DockerCli.Default.RemoveImageAsync(reference, force: true);
        }

        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        if (Registry is not null)
        {
            await Registry.DisposeAsync();
        }
    }

    public void Dispose() => _directory.Dispose();

    private async Task<string> LoadAsync(TestImage image)
    {
        var local = $"registry-ui/{image.Marker}:v1";
        var archive = _directory.Combine(image.Marker + ".tar");
        await image.WriteDockerArchiveAsync(archive, local);
        _localImages.Add(local);
        await Docker.LoadAsync(archive);
        return local;
    }

    // docker build (the legacy builder: no buildx here) on top of a test image: metadata-only steps give empty layers.
    private async Task<TestImage> PushBuiltImageAsync(string reference)
    {
        var image = TestImages.Create(layerCount: 3);
        var local = await LoadAsync(image);
        var context = NewDirectory("build");
        await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), $"""
            FROM {local}
            LABEL org.example.note="{LabelPayload.Replace("\"", "\\\"", StringComparison.Ordinal)}"
            ENV GREETING=hello
            EXPOSE 8080/tcp
            """);
        var remote = $"{Registry.HostPort}/{reference}";
        _localImages.Add(remote);
        await Docker.RunCheckedAsync(["build", "-t", remote, context], TimeSpan.FromMinutes(3));
        await Docker.PushAsync(remote);
        return image;
    }
}

[CollectionDefinition(Name)]
public sealed class UiCollection : ICollectionFixture<UiFixture>
{
    public const string Name = "ui";
}
