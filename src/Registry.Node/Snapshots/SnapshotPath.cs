using System.Text;

namespace Registry.Node.Snapshots;

/// <summary>
/// A tar entry name turned into the components of a path inside a snapshot, or refused.
/// Only names are checked here; <see cref="SafeRoot"/> checks what is on disk when it walks them.
/// </summary>
internal sealed record SnapshotPath
{
    /// <summary>Linux's PATH_MAX minus the terminating NUL, and NAME_MAX for one component.</summary>
    public const int MaxPathBytes = 4095;
    public const int MaxComponentBytes = 255;

    private SnapshotPath(IReadOnlyList<string> components) => Components = components;

    /// <summary>The components from the snapshot root; empty for the root itself.</summary>
    public IReadOnlyList<string> Components { get; }

    public bool IsRoot => Components.Count == 0;

    public string Leaf => Components[^1];

    public IReadOnlyList<string> ParentComponents => Components.Take(Components.Count - 1).ToArray();

    public override string ToString() => IsRoot ? "/" : string.Join('/', Components);

    /// <summary>Parses an entry name (or a hardlink's target name), throwing for a hostile one.</summary>
    public static SnapshotPath Parse(string entryName, string name)
    {
        if (string.IsNullOrEmpty(name))
        {
            throw new HostileLayerException(entryName, "the name is empty");
        }

        // A NUL would cut the name short when it reaches the kernel, so "a\0/../../x" could
        // mean something else on disk than what was checked; control characters have no place
        // in an image and only serve to confuse logs and later tools.
        foreach (var c in name)
        {
            if (c < 0x20 || c == 0x7f)
            {
                throw new HostileLayerException(entryName, "the name contains a control character");
            }
        }

        if (Encoding.UTF8.GetByteCount(name) > MaxPathBytes)
        {
            throw new HostileLayerException(entryName, "the name is longer than PATH_MAX");
        }

        var components = new List<string>();
        // Leading '/' and empty or '.' components are dropped: "/etc/x", "./etc/x" and
        // "etc//x" are common spellings of the same in-snapshot path. Stripping them is only a
        // normalisation; containment is enforced by refusing ".." below and by SafeRoot on disk.
        foreach (var component in name.Split('/'))
        {
            if (component.Length == 0 || component == ".")
            {
                continue;
            }

            // ".." is refused outright rather than resolved lexically: "a/../../etc/passwd"
            // climbs out of the root, and even "a/../b" is never produced by a sane layer tool.
            if (component == "..")
            {
                throw new HostileLayerException(entryName, "the name has a '..' component");
            }

            if (Encoding.UTF8.GetByteCount(component) > MaxComponentBytes)
            {
                throw new HostileLayerException(entryName, "a component is longer than NAME_MAX");
            }

            components.Add(component);
        }

        return new SnapshotPath(components);
    }

    public SnapshotPath Sibling(string leaf) => new([.. ParentComponents, leaf]);

    public bool Equals(SnapshotPath? other) =>
        other is not null && Components.SequenceEqual(other.Components, StringComparer.Ordinal);

    public override int GetHashCode() => ToString().GetHashCode(StringComparison.Ordinal);
}
