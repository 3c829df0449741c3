using System.Globalization;

namespace Registry.Testing;

/// <summary>
/// One S3 server per test process: s3rver (the npm package, installed by test.sh under <see cref="InstallDirectory"/>)
/// on 127.0.0.1 at a free port, over a temporary directory, stopped through its own pid when the process ends. Each
/// test takes a bucket name of its own from <see cref="NewBucketName"/>; the store under test creates the bucket.
/// s3rver accepts any well-formed signature of its one account (<see cref="AccessKey"/>).
/// </summary>
public sealed class S3Server : IAsyncDisposable
{
    public const string AccessKey = "S3RVER";
    public const string SecretKey = "S3RVER";
    private const int StartAttempts = 3;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private static readonly Lock StartLock = new();
    private static Task<S3Server>? _shared;

    private readonly TemporaryDirectory _directory;
    private bool _logRequests;
    private ChildProcess _process;

    private S3Server(ChildProcess process, TemporaryDirectory directory, int port)
    {
        _process = process;
        _directory = directory;
        Port = port;
    }

    /// <summary>Where test.sh installs s3rver (<c>npm install --prefix</c>), under the work tree.</summary>
    public static string InstallDirectory => Path.Combine(RepositoryRoot.Path, ".tools", "s3rver");

    private const string ParentWatch = "s3rver-parent-watch.js";

    public static string Executable => Path.Combine(InstallDirectory, "node_modules", ".bin", "s3rver");

    public int Port { get; }

    public Uri Endpoint => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>The directory s3rver keeps buckets and objects in.</summary>
    public string DataDirectory => _directory.Path;

    public string Output => _process.Output;

    /// <summary>The shared server, started on first use. Throws when it cannot start: tests fail, never skip.</summary>
    public static Task<S3Server> GetAsync()
    {
        lock (StartLock)
        {
            if (_shared is null || _shared.IsFaulted || _shared.IsCanceled)
            {
                _shared = StartSharedAsync();
            }

            return _shared;
        }
    }

    /// <summary>A bucket name no other test uses (3-63 lowercase characters).</summary>
    public static string NewBucketName() => "test-" + Guid.NewGuid().ToString("N");

    /// <summary>Starts a server of its own (not the shared one); the caller disposes it.</summary>
    /// <param name="logRequests">
    /// Log each request to <see cref="Output"/> (s3rver's own log: one line per answered request with the path, query
    /// and status). s3rver cuts the first 16 characters of those lines, so they start inside the bucket name.
    /// </param>
    public static async Task<S3Server> StartAsync(bool logRequests = false, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Executable))
        {
            throw new InvalidOperationException(
                $"{Executable} is missing: test.sh installs it (npm install --prefix {InstallDirectory} s3rver@3).");
        }

        Exception? last = null;
        // Retries only cover losing the free port to another process between choosing and binding it.
        for (var attempt = 1; attempt <= StartAttempts; attempt++)
        {
            var directory = new TemporaryDirectory("s3rver");
            var port = FreePort.Get();
            var process = Launch(directory.Path, port, logRequests);
            var server = new S3Server(process, directory, port) { _logRequests = logRequests };
            try
            {
                await server.WaitUntilAnsweringAsync(cancellationToken).ConfigureAwait(false);
                return server;
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                last = new InvalidOperationException($"s3rver did not start on port {port} (attempt {attempt}).\n--- its output ---\n{process.Output}", e);
                await server.DisposeAsync().ConfigureAwait(false);
            }
        }

        throw last!;
    }

    /// <summary>
    /// Stops this server (not the shared one: other tests use it); connections are refused until
    /// <see cref="StartAgainAsync"/>. Buckets and objects stay in <see cref="DataDirectory"/>.
    /// </summary>
    public Task StopAsync() => _process.StopAsync(TimeSpan.FromSeconds(10));

    /// <summary>Starts a stopped server again on its port and data directory, and waits until it answers.</summary>
    public async Task StartAgainAsync(CancellationToken cancellationToken = default)
    {
        if (!_process.HasExited)
        {
            throw new InvalidOperationException("the S3 server is running; stop it first");
        }

        await _process.DisposeAsync().ConfigureAwait(false);
        _process = Launch(_directory.Path, Port, _logRequests);
        await WaitUntilAnsweringAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The keys of <paramref name="bucket"/> under <paramref name="prefix"/>, from the server's own listing
    /// (ListObjectsV2, unsigned: s3rver serves anonymous requests), every page of it.
    /// </summary>
    public async Task<IReadOnlyList<string>> ListKeysAsync(string bucket, string prefix, CancellationToken cancellationToken = default)
    {
        using var http = new HttpClient { BaseAddress = Endpoint, Timeout = TimeSpan.FromSeconds(30) };
        var keys = new List<string>();
        string? continuation = null;
        do
        {
            var query = $"{Uri.EscapeDataString(bucket)}?list-type=2&prefix={Uri.EscapeDataString(prefix)}"
                + (continuation is null ? string.Empty : "&continuation-token=" + Uri.EscapeDataString(continuation));
            var xml = System.Xml.Linq.XDocument.Parse(await http.GetStringAsync(query, cancellationToken).ConfigureAwait(false));
            var ns = xml.Root!.Name.Namespace;
            keys.AddRange(xml.Root.Elements(ns + "Contents").Select(c => (string)c.Element(ns + "Key")!));
            continuation = (string?)xml.Root.Element(ns + "IsTruncated") == "true" ? (string?)xml.Root.Element(ns + "NextContinuationToken") : null;
        }
        while (continuation is not null);

        return keys;
    }

    public async ValueTask DisposeAsync()
    {
        await _process.DisposeAsync().ConfigureAwait(false);
        _directory.Dispose();
    }

    private static ChildProcess Launch(string directory, int port, bool logRequests)
    {
        string[] arguments = ["-d", directory, "-a", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture)];
        // Through node with a watch on the parent: a test process that dies without disposing leaves no server behind.
        string[] node = ["--require", Path.Combine(AppContext.BaseDirectory, ParentWatch), Executable];
        return ChildProcess.Start("node", [.. node, .. arguments, .. logRequests ? Array.Empty<string>() : ["--silent"]]);
    }

    private static async Task<S3Server> StartSharedAsync()
    {
        var server = await StartAsync().ConfigureAwait(false);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().Wait(TimeSpan.FromSeconds(15));
        return server;
    }

    /// <summary>Ready when <c>GET /</c> (the bucket list) answers 200.</summary>
    private async Task WaitUntilAnsweringAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_process.HasExited)
            {
                throw new InvalidOperationException("s3rver exited");
            }

            try
            {
                using var response = await http.GetAsync(Endpoint, cancellationToken).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // One probe timed out.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"s3rver did not answer within {StartTimeout.TotalSeconds} s");
            }

            await Task.Delay(100, cancellationToken).ConfigureAwait(false);
        }
    }
}
