using Registry.Node.Runtime;
using Registry.Testing;
using static Registry.Node.Snapshots.SnapshotSyscalls;

namespace Registry.Node.Tests.Runtime;

/// <summary>Reading /etc/passwd and friends from an image's snapshots: overlay merging, and no way out of the image's root.</summary>
public sealed class ImageRootFilesTests : IDisposable
{
    private readonly TemporaryDirectory _directory = new("image-root-files");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void An_upper_layers_file_hides_the_lower_ones()
    {
        var (lower, upper) = (Layer("lower"), Layer("upper"));
        Write(lower, "etc/passwd", "lower");
        Write(lower, "etc/group", "lower-group");
        Write(upper, "etc/passwd", "upper");

        var files = new ImageRootFiles([upper, lower]);

        Assert.Equal("upper", files.ReadText("/etc/passwd"));
        Assert.Equal("lower-group", files.ReadText("/etc/group"));
    }

    [Fact]
    public void A_whiteout_hides_the_lower_file()
    {
        var (lower, upper) = (Layer("lower"), Layer("upper"));
        Write(lower, "etc/passwd", "lower");
        Directory.CreateDirectory(Path.Combine(upper, "etc"));
        Assert.Equal(0, mknodat(AT_FDCWD, Path.Combine(upper, "etc", "passwd"), S_IFCHR, 0));

        Assert.Null(new ImageRootFiles([upper, lower]).ReadText("/etc/passwd"));
    }

    [Fact]
    public void Symlinks_resolve_inside_the_image_root_never_on_the_host()
    {
        var layer = Layer("only");
        Write(layer, "etc/shadow", "image shadow");
        Directory.CreateDirectory(Path.Combine(layer, "etc"));
        File.CreateSymbolicLink(Path.Combine(layer, "etc", "passwd"), "/etc/shadow");
        File.CreateSymbolicLink(Path.Combine(layer, "etc", "group"), "../../../../../../../../etc/hostname");
        File.CreateSymbolicLink(Path.Combine(layer, "hostetc"), "/../../../../etc");

        var files = new ImageRootFiles([layer]);

        Assert.Equal("image shadow", files.ReadText("/etc/passwd"));
        // "../../etc/hostname" from the image's root is the image's /etc/hostname, which it lacks.
        Assert.Null(files.ReadText("/etc/group"));
        Assert.Null(files.ReadText("/hostetc/hostname"));
    }

    [Fact]
    public void A_symlinked_directory_in_a_lower_layer_is_not_descended_into_on_the_host()
    {
        var (lower, upper) = (Layer("lower"), Layer("upper"));
        // The lower layer's "etc" is a link to the host's /etc; the upper one's is a real, empty directory.
        File.CreateSymbolicLink(Path.Combine(lower, "etc"), "/etc");
        Directory.CreateDirectory(Path.Combine(upper, "etc"));

        Assert.Null(new ImageRootFiles([upper, lower]).ReadText("/etc/hostname"));
    }

    private string Layer(string name) => Directory.CreateDirectory(_directory.Combine(name)).FullName;

    private static void Write(string layer, string path, string content)
    {
        var full = Path.Combine(layer, path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
    }
}
