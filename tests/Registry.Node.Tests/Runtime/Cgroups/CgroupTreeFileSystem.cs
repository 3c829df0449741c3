using Registry.Node.Runtime.Cgroups;

namespace Registry.Node.Tests.Runtime.Cgroups;

/// <summary>
/// A plain directory tree shaped like a cgroup2 mount, for the v2 logic this host's kernel cannot
/// show (its memory, cpu and pids controllers are bound to v1). It imitates only what the v2 code
/// relies on: a new cgroup gets its control files, cgroup.controllers follows the parent's
/// cgroup.subtree_control, writes to missing files fail with ENOENT, subtree_control merges
/// "+ctrl" tokens and refuses controllers the cgroup does not offer, rmdir refuses child cgroups.
/// It does not limit anything and holds no processes.
/// </summary>
internal sealed class CgroupTreeFileSystem : ICgroupFileSystem
{
    private static readonly Dictionary<string, string[]> ControllerFiles = new()
    {
        ["memory"] = ["memory.max", "memory.swap.max", "memory.current", "memory.events"],
        ["cpu"] = ["cpu.max", "cpu.stat"],
        ["pids"] = ["pids.max", "pids.current"],
    };

    /// <summary>Makes the root cgroup at <paramref name="root"/> offering <paramref name="controllers"/>.</summary>
    public CgroupTreeFileSystem(string root, params string[] controllers)
    {
        Root = root;
        Directory.CreateDirectory(root);
        File.WriteAllText(Path.Combine(root, "cgroup.controllers"), string.Join(' ', controllers) + "\n");
        File.WriteAllText(Path.Combine(root, "cgroup.subtree_control"), "");
        File.WriteAllText(Path.Combine(root, "cgroup.procs"), "");
    }

    public string Root { get; }

    public bool FileExists(string path) => File.Exists(path);

    public bool DirectoryExists(string path) => Directory.Exists(path);

    public string? TryReadFile(string path) => File.Exists(path) ? File.ReadAllText(path) : null;

    public void WriteFile(string path, string value)
    {
        if (!File.Exists(path))
        {
            throw new CgroupFileException($"open {path}: No such file or directory", HostCgroupFileSystem.ENOENT);
        }

        if (Path.GetFileName(path) == "cgroup.subtree_control")
        {
            var offered = Words(Path.Combine(Path.GetDirectoryName(path)!, "cgroup.controllers"));
            var enabled = Words(path).ToList();
            foreach (var token in value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var name = token[1..];
                if (!offered.Contains(name))
                {
                    throw new CgroupFileException($"write {path}: No such file or directory", HostCgroupFileSystem.ENOENT);
                }

                enabled.Remove(name);
                if (token[0] == '+')
                {
                    enabled.Add(name);
                }
            }

            File.WriteAllText(path, string.Join(' ', enabled) + "\n");
            return;
        }

        File.WriteAllText(path, value.TrimEnd('\n') + "\n");
    }

    public bool CreateDirectory(string path)
    {
        if (Directory.Exists(path) || File.Exists(path))
        {
            return false;
        }

        var parent = Path.GetDirectoryName(path)!;
        if (!Directory.Exists(parent))
        {
            throw new CgroupFileException($"mkdir {path}: No such file or directory", HostCgroupFileSystem.ENOENT);
        }

        Directory.CreateDirectory(path);
        var controllers = Words(Path.Combine(parent, "cgroup.subtree_control"));
        File.WriteAllText(Path.Combine(path, "cgroup.controllers"), string.Join(' ', controllers) + "\n");
        File.WriteAllText(Path.Combine(path, "cgroup.subtree_control"), "");
        File.WriteAllText(Path.Combine(path, "cgroup.procs"), "");
        foreach (var controller in controllers)
        {
            foreach (var file in ControllerFiles.GetValueOrDefault(controller, []))
            {
                File.WriteAllText(Path.Combine(path, file), DefaultValue(file));
            }
        }

        return true;
    }

    public void RemoveDirectory(string path)
    {
        if (!Directory.Exists(path))
        {
            throw new CgroupFileException($"rmdir {path}: No such file or directory", HostCgroupFileSystem.ENOENT);
        }

        if (Directory.GetDirectories(path).Length > 0)
        {
            throw new CgroupFileException($"rmdir {path}: Device or resource busy", HostCgroupFileSystem.EBUSY);
        }

        // A cgroup's control files vanish with it.
        Directory.Delete(path, recursive: true);
    }

    public IReadOnlyList<string> ListDirectories(string path) => Directory.Exists(path) ? Directory.GetDirectories(path) : [];

    public bool SignalProcess(int pid, int signal) =>
        throw new InvalidOperationException("a directory tree holds no processes to signal");

    private static string[] Words(string path) =>
        File.Exists(path) ? File.ReadAllText(path).Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries) : [];

    private static string DefaultValue(string file) => file switch
    {
        "memory.max" or "memory.swap.max" or "pids.max" => "max\n",
        "cpu.max" => "max 100000\n",
        "memory.events" => "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
        "cpu.stat" => "usage_usec 0\n",
        _ => "0\n",
    };
}
