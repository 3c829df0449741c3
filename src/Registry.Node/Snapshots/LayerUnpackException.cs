namespace Registry.Node.Snapshots;

/// <summary>A layer that could not be applied: corrupt, truncated, unsupported or over a limit.</summary>
public class LayerUnpackException : Exception
{
    public LayerUnpackException()
    {
    }

    public LayerUnpackException(string message)
        : base(message)
    {
    }

    public LayerUnpackException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// A layer refused because an entry would write, link or look outside its snapshot
/// (a <c>..</c> name, a path through a symbolic link, a hardlink out of the layer, …).
/// Nothing of the layer is left on disk when this is thrown out of <see cref="LayerUnpacker"/>.
/// </summary>
public sealed class HostileLayerException : LayerUnpackException
{
    public HostileLayerException()
    {
    }

    public HostileLayerException(string message)
        : base(message)
    {
    }

    public HostileLayerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public HostileLayerException(string entryName, string reason)
        : base($"hostile layer entry '{Printable(entryName)}': {reason}")
    {
        EntryName = entryName;
    }

    /// <summary>The entry's name as the tar stream gave it.</summary>
    public string? EntryName { get; }

    // Entry names are attacker-controlled: escape control characters before they reach a terminal or log.
    private static string Printable(string name)
    {
        var text = string.Concat(name.Select(c => c < 0x20 || c == 0x7f ? $"\\x{(int)c:x2}" : c.ToString()));
        return text.Length <= 200 ? text : text[..200] + "…";
    }
}
