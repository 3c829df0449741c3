using System.Text.Json.Nodes;
using Registry.Node.Agent;
using Registry.Node.Cli;
using Registry.Node.Runtime;
using Registry.Node.Tests.Client;
using Registry.Node.Tests.Runtime;
using Registry.Testing;

namespace Registry.Node.Tests.Agent;

/// <summary>
/// The reconciler applied to desired states against the real runtime, pulling a test image from
/// our registry with a pull token, in a node root of each test's own.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class ReconcilerTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>, IAsyncLifetime, IDisposable
{
    private const string Forever = "while true; do sleep 0.1; done";
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);

    private readonly TemporaryDirectory _directory = new("node-agent");
    private readonly StringWriter _log = new();
    private AgentTestImage _image = null!;
    private long _generation;

    private string Root => _directory.Combine("root");

    private ContainerLifecycle Lifecycle => new(new ContainerStore(Root));

    public async Task InitializeAsync() => _image = await AgentTestImage.PushAsync(fixture);

    public async Task DisposeAsync()
    {
        foreach (var container in await Lifecycle.ListAsync(CancellationToken.None))
        {
            await Lifecycle.RemoveAsync(container.Id, force: true, CancellationToken.None);
        }

        Registry.Node.Runtime.Cgroups.CgroupManager.ForHost().RemoveParentsIfEmpty();
    }

    public void Dispose()
    {
        _directory.Dispose();
        _log.Dispose();
    }

    [Fact]
    public async Task A_desired_container_is_pulled_and_started_under_the_registrys_id()
    {
        var reconciler = NewReconciler();
        var id = AgentTestImage.NewId();

        await ApplyAsync(reconciler, _image.Container(id, ["sh", "-c", $"echo started-by-the-agent; {Forever}"]) with { Env = ["GREETING=hello"] });

        var view = await Lifecycle.InspectAsync(id, CancellationToken.None);
        Assert.Equal(ContainerStatus.Running, view.State.Status);
        Assert.Equal($"node-{id[..12]}", view.Config.Name);
        Assert.Contains("GREETING=hello", view.Config.Env);
        var observed = Assert.Single(await reconciler.ObserveAsync(CancellationToken.None));
        Assert.Equal((id, 1L, "running"), (observed.Id, observed.Placement, observed.State));
        Assert.NotNull(observed.StartedAt);
        var managed = Assert.Single(JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Root, "agent", "containers.json")))!["containers"]!.AsArray())!;
        Assert.Equal(id, (string?)managed["id"]);
        Assert.Equal(1, (long)managed["startSerial"]!);
        Assert.Equal("0600", FileModes.Of(Path.Combine(Root, "agent", "containers.json")));
        Assert.Contains($"pulled {_image.Image} for {id[..12]}", _log.ToString(), StringComparison.Ordinal);
        Assert.Contains($"started {id[..12]}", _log.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(_image.PullToken, _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Desired_stopped_stops_it_and_a_greater_start_serial_starts_it_again()
    {
        var reconciler = NewReconciler();
        var id = AgentTestImage.NewId();
        var running = _image.Container(id, ["sh", "-c", Forever], restart: "always");
        await ApplyAsync(reconciler, running);
        var firstStart = (await Lifecycle.InspectAsync(id, CancellationToken.None)).State.StartedAt;

        await ApplyAsync(reconciler, running with { Desired = DesiredContainer.Stopped });
        var stopped = await Lifecycle.InspectAsync(id, CancellationToken.None);
        await ApplyAsync(reconciler, running with { StartSerial = 2 });
        var restarted = await Lifecycle.InspectAsync(id, CancellationToken.None);

        Assert.Equal(ContainerStatus.Exited, stopped.State.Status);
        Assert.Equal(ContainerStatus.Running, restarted.State.Status);
        Assert.True(restarted.State.StartedAt > firstStart);
        Assert.Contains($"stopped {id[..12]}", _log.ToString(), StringComparison.Ordinal);
        Assert.Equal("running", Assert.Single(await reconciler.ObserveAsync(CancellationToken.None)).State);
    }

    [Fact]
    public async Task An_exited_container_stays_exited_until_the_start_serial_grows()
    {
        var reconciler = NewReconciler();
        var id = AgentTestImage.NewId();
        var container = _image.Container(id, ["sh", "-c", "exit 3"]);
        await ApplyAsync(reconciler, container);
        var exited = await WaitForExitAsync(id);

        await ApplyAsync(reconciler, container);
        var unchanged = await Lifecycle.InspectAsync(id, CancellationToken.None);
        var observed = Assert.Single(await reconciler.ObserveAsync(CancellationToken.None));
        await ApplyAsync(reconciler, container with { StartSerial = 2 });
        var again = await WaitForExitAsync(id);

        Assert.Equal(3, exited.State.ExitCode);
        Assert.Equal(exited.State.StartedAt, unchanged.State.StartedAt);
        Assert.Equal(("exited", 3), (observed.State, observed.ExitCode));
        Assert.True(again.State.StartedAt > exited.State.StartedAt);
    }

    [Fact]
    public async Task A_container_no_longer_desired_is_removed()
    {
        var reconciler = NewReconciler();
        var id = AgentTestImage.NewId();
        await ApplyAsync(reconciler, _image.Container(id, ["sh", "-c", Forever]));

        await ApplyAsync(reconciler);

        Assert.False(Directory.Exists(Path.Combine(Root, "containers", id)));
        Assert.False(File.Exists(Path.Combine(Root, "containers", ".names", $"node-{id[..12]}")));
        Assert.Empty(await reconciler.ObserveAsync(CancellationToken.None));
        Assert.Empty(JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(Root, "agent", "containers.json")))!["containers"]!.AsArray());
        Assert.Contains($"removed {id[..12]}", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_command_that_does_not_exist_fails_with_the_runtimes_127_message()
    {
        var reconciler = NewReconciler();
        var id = AgentTestImage.NewId();

        await ApplyAsync(reconciler, _image.Container(id, ["no-such-command"]));

        var observed = Assert.Single(await reconciler.ObserveAsync(CancellationToken.None));
        Assert.Equal(("failed", 127), (observed.State, observed.ExitCode));
        Assert.Contains("exec: \"no-such-command\": executable file not found in $PATH", observed.Error, StringComparison.Ordinal);
        Assert.Contains($"failed {id[..12]}: start error 127", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pull_the_registry_refuses_fails_with_the_reason_and_creates_nothing()
    {
        var reconciler = NewReconciler();
        var id = AgentTestImage.NewId();

        await ApplyAsync(reconciler, _image.Container(id, ["true"], pullToken: "not-a-registry-token"));

        var observed = Assert.Single(await reconciler.ObserveAsync(CancellationToken.None));
        Assert.Equal("failed", observed.State);
        Assert.StartsWith("pull failed: ", observed.Error, StringComparison.Ordinal);
        Assert.Contains("refused the given bearer token", observed.Error, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(Root, "containers", id)));
        Assert.DoesNotContain("not-a-registry-token", _log.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_restarted_agent_neither_restarts_nor_forgets_its_containers()
    {
        var first = NewReconciler();
        var running = _image.Container(AgentTestImage.NewId(), ["sh", "-c", Forever]);
        var exited = _image.Container(AgentTestImage.NewId(), ["true"]);
        await ApplyAsync(first, running, exited);
        var before = (await Lifecycle.InspectAsync(running.Id, CancellationToken.None)).State;
        var exitedBefore = (await WaitForExitAsync(exited.Id)).State;

        var second = NewReconciler();
        await ApplyAsync(second, running, exited);
        var after = (await Lifecycle.InspectAsync(running.Id, CancellationToken.None)).State;
        var exitedAfter = (await Lifecycle.InspectAsync(exited.Id, CancellationToken.None)).State;
        await ApplyAsync(NewReconciler());

        Assert.Equal((ContainerStatus.Running, before.Pid, before.StartedAt), (after.Status, after.Pid, after.StartedAt));
        Assert.Equal((ContainerStatus.Exited, exitedBefore.StartedAt), (exitedAfter.Status, exitedAfter.StartedAt));
        Assert.Empty(await Lifecycle.ListAsync(CancellationToken.None));
    }

    [Fact]
    public async Task A_container_whose_supervisor_died_with_the_node_is_started_again_as_its_restart_policy_says()
    {
        var reconciler = NewReconciler();
        var always = _image.Container(AgentTestImage.NewId(), ["sh", "-c", Forever], restart: "always");
        var never = _image.Container(AgentTestImage.NewId(), ["sh", "-c", Forever], restart: "no");
        await ApplyAsync(reconciler, always, never);
        foreach (var id in new[] { always.Id, never.Id })
        {
            // As a reboot does: the supervisor is gone, and the container's processes with it.
            var monitor = (await Lifecycle.InspectAsync(id, CancellationToken.None)).State.MonitorPid!.Value;
            using var process = System.Diagnostics.Process.GetProcessById(monitor);
            process.Kill();
        }

        await WaitForExitAsync(always.Id);
        await WaitForExitAsync(never.Id);
        await ApplyAsync(NewReconciler(), always, never);

        Assert.Equal(ContainerStatus.Running, (await Lifecycle.InspectAsync(always.Id, CancellationToken.None)).State.Status);
        Assert.Equal(ContainerStatus.Exited, (await Lifecycle.InspectAsync(never.Id, CancellationToken.None)).State.Status);
    }

    [Fact]
    public async Task A_given_id_never_takes_over_an_existing_container()
    {
        var reconciler = NewReconciler();
        var id = AgentTestImage.NewId();
        await ApplyAsync(reconciler, _image.Container(id, ["sh", "-c", Forever]));
        var stores = new NodeStores(Root);
        var image = (await stores.Images.ListAsync()).Single();
        var runner = new ContainerRunner(new ContainerStore(Root), stores.Snapshots, stores.Content);

        var error = await Assert.ThrowsAsync<ContainerConfigException>(() =>
            runner.RunAsync(image, new RunRequest { Image = image.Reference, Id = id, Name = "another-name", Detach = true }, CancellationToken.None));

        Assert.Contains($"A container with id \"{id}\" already exists", error.Message, StringComparison.Ordinal);
        var view = await Lifecycle.InspectAsync(id, CancellationToken.None);
        Assert.Equal((ContainerStatus.Running, $"node-{id[..12]}"), (view.State.Status, view.Config.Name));
        Assert.False(File.Exists(Path.Combine(Root, "containers", ".names", "another-name")));
    }

    [Fact]
    public async Task An_expired_pull_token_is_exchanged_for_a_fresh_one_before_the_pull_reported_as_pulling()
    {
        var id = AgentTestImage.NewId();
        var fresh = _image.Container(id, ["sh", "-c", Forever]);
        var asked = new List<string>();
        Reconciler? reconciler = null;
        IReadOnlyList<ObservedContainer> whilePulling = [];
        reconciler = NewReconciler(async (requested, ct) =>
        {
            asked.Add(requested);
            whilePulling = await reconciler!.ObserveAsync(ct);
            return fresh;
        });

        await ApplyAsync(reconciler, fresh with { PullToken = "expired-token", PullTokenExpiresAt = DateTimeOffset.UtcNow.AddMinutes(-1) });

        Assert.Equal(new[] { id }, asked);
        Assert.Equal((id, "pulling"), (Assert.Single(whilePulling).Id, whilePulling[0].State));
        Assert.Equal("running", Assert.Single(await reconciler.ObserveAsync(CancellationToken.None)).State);
    }

    [Fact]
    public async Task A_pull_that_failed_while_the_registry_was_away_is_tried_again_when_it_is_back()
    {
        var reconciler = NewReconciler();
        var id = AgentTestImage.NewId();
        fixture.Registry.Kill();
        try
        {
            await ApplyAsync(reconciler, _image.Container(id, ["sh", "-c", Forever]));
            var away = Assert.Single(await reconciler.ObserveAsync(CancellationToken.None));
            Assert.Equal("failed", away.State);
            Assert.Contains("cannot reach", away.Error, StringComparison.Ordinal);
        }
        finally
        {
            await fixture.Registry.RestartAsync();
        }

        var deadline = DateTime.UtcNow + WaitLimit;
        while ((await reconciler.ObserveAsync(CancellationToken.None)).Single().State != "running")
        {
            Assert.True(DateTime.UtcNow < deadline, _log.ToString());
            await Task.Delay(100);
        }

        Assert.Equal(ContainerStatus.Running, (await Lifecycle.InspectAsync(id, CancellationToken.None)).State.Status);
    }

    private Reconciler NewReconciler(Func<string, CancellationToken, Task<DesiredContainer?>>? refresh = null)
    {
        var stores = new NodeStores(Root);
        var log = new AgentLog(TextWriter.Synchronized(_log), TimeProvider.System);
        var images = new ImageFetcher(stores, fixture.Registry.BaseAddress, refresh ?? ((_, _) => Task.FromResult<DesiredContainer?>(null)), log, TimeProvider.System);
        return new Reconciler(stores, new ManagedContainers(new AgentFiles(stores.Root)), log, images, userns: null);
    }

    private async Task ApplyAsync(Reconciler reconciler, params DesiredContainer[] containers)
    {
        reconciler.Apply(new DesiredState(++_generation, containers), CancellationToken.None);
        await reconciler.WhenIdleAsync();
    }

    private async Task<ContainerView> WaitForExitAsync(string id)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (true)
        {
            var view = await Lifecycle.InspectAsync(id, CancellationToken.None);
            if (view.State.Status == ContainerStatus.Exited || DateTime.UtcNow > deadline)
            {
                return view;
            }

            await Task.Delay(50);
        }
    }
}
