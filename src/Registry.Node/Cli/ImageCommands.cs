using System.CommandLine;
using Registry.Core;
using Registry.Node.Client;
using Registry.Node.Content;
using Registry.Node.Snapshots;
using Spectre.Console;
using Platform = Registry.Core.Manifests.Platform;

namespace Registry.Node.Cli;

/// <summary>The image commands: pull, images, rmi, prune, inspect. Each is parse → one service call → print.</summary>
internal sealed class ImageCommands(Option<string> rootOption)
{
    /// <summary>How long a pull waits for a prune, and a prune for the pulls in progress.</summary>
    private static readonly TimeSpan LockTimeout = TimeSpan.FromMinutes(10);

    public Command Pull()
    {
        var image = NoFlags(new Argument<string>("IMAGE") { Description = "HOST[:PORT]/NAME[:TAG|@DIGEST]" });
        var platform = new Option<string?>("--platform") { Description = "os/arch[/variant] to choose from a multi-platform image" };
        var command = new Command("pull", "Download an image and unpack its layers") { image, platform };
        command.SetAction((parsed, ct) => NodeCli.GuardAsync(() => PullAsync(Stores(parsed), parsed.GetValue(image)!, parsed.GetValue(platform), Console.Out, ct)));
        return command;
    }

    public Command Images()
    {
        var command = new Command("images", "List pulled images");
        command.SetAction((parsed, ct) => NodeCli.GuardAsync(async () =>
        {
            var images = await Stores(parsed).Images.ListAsync(ct).ConfigureAwait(false);
            await Console.Out.WriteAsync(ImageTable.Format(images, DateTimeOffset.UtcNow)).ConfigureAwait(false);
            return NodeCli.Ok;
        }));
        return command;
    }

    public Command Rmi()
    {
        var images = NoFlags(new Argument<string[]>("IMAGE") { Arity = ArgumentArity.OneOrMore });
        var command = new Command("rmi", "Forget images; their content goes with the next prune") { images };
        command.SetAction((parsed, ct) => NodeCli.GuardAsync(() => RemoveAsync(Stores(parsed), parsed.GetValue(images)!, ct)));
        return command;
    }

    public Command Prune()
    {
        var command = new Command("prune", "Delete blobs and snapshots no image uses");
        command.SetAction((parsed, ct) => NodeCli.GuardAsync(async () =>
        {
            var stores = Stores(parsed);
            using var held = await PruneLock.ForPruneAsync(stores.Root, LockTimeout, ct).ConfigureAwait(false);
            // No grace period: the lock keeps pulls in progress out, so only what no image uses goes.
            var blobs = await stores.Images.PruneAsync(TimeSpan.Zero, ct).ConfigureAwait(false);
            var keep = (await stores.Images.ListAsync(ct).ConfigureAwait(false)).SelectMany(i => i.ChainIds).ToHashSet();
            var snapshots = stores.Snapshots.Prune(keep);
            foreach (var digest in blobs.Removed)
            {
                await Console.Out.WriteLineAsync($"deleted blob: {digest}").ConfigureAwait(false);
            }

            foreach (var chainId in snapshots)
            {
                await Console.Out.WriteLineAsync($"deleted snapshot: {chainId}").ConfigureAwait(false);
            }

            await Console.Out.WriteLineAsync($"Total reclaimed space: {PlainLinesProgress.Size(blobs.BytesFreed)} of blobs, {snapshots.Count} snapshots").ConfigureAwait(false);
            return NodeCli.Ok;
        }));
        return command;
    }

    public Command Inspect()
    {
        var image = NoFlags(new Argument<string>("CONTAINER|IMAGE"));
        var command = new Command("inspect", "Show a container's config and state, else an image's record and config, as JSON") { image };
        command.SetAction((parsed, ct) => NodeCli.GuardAsync(async () =>
        {
            // As docker: a container of that name or id first, then an image.
            if (await ContainerCommands.TryInspectAsync(parsed.GetValue(rootOption)!, parsed.GetValue(image)!, ct).ConfigureAwait(false) is { } container)
            {
                await Console.Out.WriteLineAsync(container).ConfigureAwait(false);
                return NodeCli.Ok;
            }

            var stores = Stores(parsed);
            var record = await FindAsync(stores, parsed.GetValue(image)!, ct).ConfigureAwait(false);
            var config = await stores.Content.ReadAllAsync(record.ConfigDigest, ct).ConfigureAwait(false);
            await Console.Out.WriteLineAsync(ImageInspection.ToJson(record, config)).ConfigureAwait(false);
            return NodeCli.Ok;
        }));
        return command;
    }

    /// <summary>Pulls and unpacks an image, reporting on <paramref name="output"/> as docker pull does (run reports on stderr);
    /// progress bars only when <paramref name="output"/> is stdout on a terminal.</summary>
    internal static async Task<int> PullAsync(NodeStores stores, string image, string? platformText, TextWriter output, CancellationToken cancellationToken)
    {
        var reference = ParseReference(image);
        Platform? platform = null;
        if (platformText is not null)
        {
            try
            {
                platform = PlatformSelector.Parse(platformText);
            }
            catch (FormatException e)
            {
                throw new UsageException(e.Message);
            }
        }

        using var held = await PruneLock.ForPullAsync(stores.Root, LockTimeout, cancellationToken).ConfigureAwait(false);
        using var client = new RegistryClient(reference.Registry, new RegistryClientOptions { DockerConfigPath = DockerConfigFile.DefaultPath() });
        var puller = new ImagePuller(stores.Images) { Snapshots = stores.Snapshots };
        await output.WriteLineAsync($"{reference.Tag ?? reference.Digest?.ToString()}: Pulling from {reference.Repository}").ConfigureAwait(false);
        PullResult result;
        if (output != Console.Out || Console.IsOutputRedirected)
        {
            result = await puller.PullAsync(client, reference, platform, new PlainLinesProgress(output), cancellationToken).ConfigureAwait(false);
        }
        else
        {
            result = await TerminalPullProgress.RunAsync(
                AnsiConsole.Console,
                progress => puller.PullAsync(client, reference, platform, progress, cancellationToken)).ConfigureAwait(false);
        }

        var fresh = result.Layers.Any(l => !l.AlreadyPresent);
        await output.WriteLineAsync($"Digest: {result.Image.Digest}").ConfigureAwait(false);
        await output.WriteLineAsync(fresh ? $"Status: Downloaded newer image for {reference}" : $"Status: Image is up to date for {reference}").ConfigureAwait(false);
        await output.WriteLineAsync(reference.ToString()).ConfigureAwait(false);
        return NodeCli.Ok;
    }

    private static async Task<int> RemoveAsync(NodeStores stores, string[] images, CancellationToken cancellationToken)
    {
        // Like docker rmi: every image is tried; one that is missing fails the command but not the others.
        var exitCode = NodeCli.Ok;
        foreach (var image in images)
        {
            try
            {
                var record = await FindAsync(stores, image, cancellationToken).ConfigureAwait(false);
                await stores.Images.RemoveAsync(ImageReference.Parse(record.Reference), cancellationToken).ConfigureAwait(false);
                await Console.Out.WriteLineAsync($"Untagged: {record.Reference}").ConfigureAwait(false);
            }
            catch (Exception e) when (e is LocalImageNotFoundException or FormatException)
            {
                await Console.Error.WriteLineAsync(NodeCli.Describe(e)).ConfigureAwait(false);
                exitCode = NodeCli.Failed;
            }
        }

        return exitCode;
    }

    /// <summary>An image by reference, or by the start (12+ hex characters) of its id as <c>images</c> shows it.</summary>
    internal static async Task<ImageRecord> FindAsync(NodeStores stores, string image, CancellationToken cancellationToken)
    {
        var images = await stores.Images.ListAsync(cancellationToken).ConfigureAwait(false);
        var id = image.StartsWith("sha256:", StringComparison.Ordinal) ? image["sha256:".Length..] : image;
        if (id.Length >= 12 && id.All(Uri.IsHexDigit))
        {
            var byId = images.Where(i => i.ConfigDigest.Encoded.StartsWith(id, StringComparison.OrdinalIgnoreCase)).ToList();
            if (byId.Count == 1)
            {
                return byId[0];
            }
        }

        var reference = ParseReference(image).ToString();
        return images.FirstOrDefault(i => i.Reference == reference) ?? throw new LocalImageNotFoundException(image);
    }

    /// <summary>
    /// The parser would take an unknown <c>--flag</c> for the image argument; no image name starts
    /// with a dash, so such a token is reported as the usage error it is (exit 125, like docker).
    /// </summary>
    private static Argument<T> NoFlags<T>(Argument<T> argument)
    {
        argument.Validators.Add(result =>
        {
            foreach (var token in result.Tokens.Where(t => t.Value.StartsWith('-')))
            {
                result.AddError($"unknown flag: {token.Value}");
            }
        });
        return argument;
    }

    private static ImageReference ParseReference(string image) =>
        ImageReference.TryParse(image, out var reference, out var error)
            ? reference
            : throw new FormatException($"invalid reference format: {error}");

    private NodeStores Stores(ParseResult parsed) => new(parsed.GetValue(rootOption)!);
}

/// <summary>The node's stores under one root directory.</summary>
internal sealed class NodeStores
{
    /// <exception cref="Files.NodeRootException">The root is not safe to use (see <see cref="Files.NodeRoot"/>).</exception>
    public NodeStores(string root)
    {
        Root = Files.NodeRoot.Prepare(root, Console.Error);
        Content = new ContentStore(Root);
        Images = new ImageStore(Content);
        Snapshots = new SnapshotStore(Root);
    }

    public string Root { get; }

    public ContentStore Content { get; }

    public ImageStore Images { get; }

    public SnapshotStore Snapshots { get; }
}
