using System.Diagnostics;
using System.Text.Json;
using Registry.Node.Tests.Files;

namespace Registry.Node.Tests.Runtime;

/// <summary>
/// A container's files on the node: those holding <c>-e</c> values (config.json, init.spec) and
/// every other record and log owner-only, whoever writes them (registry-node, or rn-init's
/// supervisor for state.json and container.log); the directories 0700; what the container itself
/// sees through a mount (its upper dir, a volume's data) 0755 as docker makes them.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class ContainerFileModeTests(RuntimeImageFixture fixture) : IClassFixture<RuntimeImageFixture>
{
    private const string Image = RuntimeImageFixture.Reference;

    [Fact]
    public async Task The_files_of_a_detached_container_with_env_values_are_owner_only()
    {
        var name = $"modes-{Guid.NewGuid():N}"[..20];
        var volume = $"modes-{Guid.NewGuid():N}"[..20];

        var run = await fixture.RunAsync("run", "-d", "--name", name, "-e", "API_TOKEN=not-for-other-users", "-v", $"{volume}:/data", Image, "sh", "-c", "echo logged");
        Assert.True(run.ExitCode == 0, run.ToString());
        var directory = fixture.ContainerDirectory(name);
        await WaitForExitAsync(directory);

        Assert.Contains("not-for-other-users", await File.ReadAllTextAsync(Path.Combine(directory, "config.json")), StringComparison.Ordinal);
        Assert.Contains("not-for-other-users", await File.ReadAllTextAsync(Path.Combine(directory, "init.spec")), StringComparison.Ordinal);
        Assert.Contains("logged", await File.ReadAllTextAsync(Path.Combine(directory, "container.log")), StringComparison.Ordinal);
        string[] files = ["config.json", "init.spec", "state.json", "container.log", "mounts.json", "network.json"];
        Assert.All(await FileModes.OfAsync(files.Select(f => Path.Combine(directory, f)).Append(Path.Combine(fixture.Root, "containers", ".names", name))), m => Assert.Equal("600", m.Value));
        string[] directories =
        [
            directory, Path.Combine(directory, "rootfs"), Path.Combine(directory, "work"), Path.Combine(fixture.Root, "containers"),
            Path.Combine(fixture.Root, "containers", ".names"), Path.Combine(fixture.Root, "volumes"), Path.Combine(fixture.Root, "volumes", volume),
        ];
        Assert.All(await FileModes.OfAsync(directories), m => Assert.Equal("700", m.Value));
        Assert.Equal("755", await FileModes.OfAsync(Path.Combine(directory, "upper")));
        Assert.Equal("755", await FileModes.OfAsync(Path.Combine(fixture.Root, "volumes", volume, "_data")));
    }

    [Fact]
    public async Task Blobs_the_image_index_and_snapshots_are_owner_only()
    {
        // The fixture stored the image as a pull does.
        var blobs = Path.Combine(fixture.Root, "blobs");
        var blobFiles = Directory.EnumerateFiles(blobs, "*", SearchOption.AllDirectories).ToList();

        Assert.NotEmpty(blobFiles);
        var directories = Directory.EnumerateDirectories(blobs, "*", SearchOption.AllDirectories).Concat([fixture.Root, blobs, Path.Combine(fixture.Root, "snapshots")]);
        Assert.All(await FileModes.OfAsync(directories), m => Assert.Equal("700", m.Value));
        Assert.All(await FileModes.OfAsync(blobFiles.Append(Path.Combine(fixture.Root, "images.json"))), m => Assert.Equal("600", m.Value));
    }

    private static async Task WaitForExitAsync(string directory)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using (var state = JsonDocument.Parse(await File.ReadAllBytesAsync(Path.Combine(directory, "state.json"))))
            {
                if (string.Equals(state.RootElement.GetProperty("status").GetString(), "exited", StringComparison.OrdinalIgnoreCase))
                {
                    return;
                }
            }

            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), "the container did not exit");
            await Task.Delay(50);
        }
    }
}
