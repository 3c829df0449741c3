using Registry.Node.Tests.Cli;
using Registry.Node.Tests.Client;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Runtime;

/// <summary>
/// An image built with <c>docker build</c> and pushed with <c>docker push</c> to our registry, then run
/// with the same flags by <c>docker run</c> and by <c>registry-node run</c> (which pulls it with the
/// login docker wrote): what the container prints and its exit code must be the same.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class DockerParityTests(DockerParityTests.Fixture fixture) : IClassFixture<DockerParityTests.Fixture>
{
    public static TheoryData<string[], string[]> Cases => new()
    {
        { [], [] },
        { ["-e", "GREETING=hi"], [] },
        { ["-e", "CODE=3"], [] },
        { ["-w", "/tmp"], [] },
        { ["-w", "/made/by/run"], [] },
        { ["-u", "1000:1000"], [] },
        { ["-u", "1000"], [] },
        { [], ["three", "four"] },
        { ["--entrypoint", "/bin/echo"], ["a", "b"] },
        { ["--entrypoint", "hostname", "--hostname", "parity-host"], [] },
        { ["--entrypoint", "sh"], ["-c", "echo $$; exit 42"] },
        { ["--entrypoint", "no-such-command"], [] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Registry_node_run_prints_and_exits_as_docker_run_does(string[] flags, string[] command)
    {
        var docker = await fixture.Docker.RunAsync(["run", "--rm", "--network", "none", .. flags, fixture.Image, .. command]);
        var ours = await fixture.Node.RunAsync(["run", "--rm", "--network", "none", .. flags, fixture.Image, .. command]);

        Assert.True(docker.ExitCode == ours.ExitCode, $"exit codes differ\n{docker}\n{ours}");
        Assert.Equal(docker.StandardOutput, ours.StandardOutput);
    }

    /// <summary>Our registry, the image built and pushed by docker, and a registry-node whose docker config holds docker's login.</summary>
    public sealed class Fixture : IAsyncLifetime, IDisposable
    {
        private readonly TemporaryDirectory _directory = new("docker-parity");
        private readonly List<string> _localImages = [];
        private RegistryProcess? _registry;

        public DockerCli Docker { get; private set; } = null!;

        internal NodeCliProcess Node { get; private set; } = null!;

        public string Image { get; private set; } = null!;

        public async Task InitializeAsync()
        {
            _registry = await RegistryProcess.StartAsync();
            Node = new NodeCliProcess();
            // docker login writes the config registry-node reads: one login serves both.
            Docker = DockerCli.Default.WithConfigDirectory(Node.DockerConfig);
            await Docker.EnsureAvailableAsync();
            (await Docker.LoginAsync(_registry.HostPort, _registry.Admin)).EnsureSuccess();

            var baseImage = TestImages.Create(layerCount: 2);
            var local = $"docker-parity/{baseImage.Marker}:base";
            var archive = _directory.Combine("base.tar");
            await baseImage.WriteDockerArchiveAsync(archive, local);
            _localImages.Add(local);
            await Docker.LoadAsync(archive);

            var context = _directory.Combine("build");
            Directory.CreateDirectory(context);
            await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), $$"""
                FROM {{local}}
                ENV GREETING=hello
                WORKDIR /srv
                ENTRYPOINT ["/bin/sh", "-c", "echo \"$GREETING from $(pwd) as $(id -u):$(id -g) args=$*\"; exit ${CODE:-0}", "entrypoint"]
                CMD ["one", "two"]
                """);
            Image = $"{_registry.HostPort}/{RegistryFixture.NewRepository("parity")}:v1";
            _localImages.Add(Image);
            await Docker.RunCheckedAsync(["build", "-t", Image, context], TimeSpan.FromMinutes(3));
            await Docker.PushAsync(Image);
        }

        public async Task DisposeAsync()
        {
            foreach (var reference in _localImages)
            {
                await DockerCli.Default.RemoveImageAsync(reference, force: true);
            }

            Node?.Dispose();
            Registry.Node.Runtime.Cgroups.CgroupManager.ForHost().RemoveParentsIfEmpty();
            if (_registry is not null)
            {
                await _registry.DisposeAsync();
            }
        }

        public void Dispose() => _directory.Dispose();
    }
}
