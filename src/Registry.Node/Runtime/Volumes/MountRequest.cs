using System.Text.RegularExpressions;

namespace Registry.Node.Runtime.Volumes;

public enum MountKind
{
    /// <summary>A named volume of the node's (<c>-v NAME:/path</c>).</summary>
    Volume,

    /// <summary>A host path (<c>-v /host/path:/path</c>).</summary>
    Bind,

    /// <summary><c>--tmpfs /path[:size=64m]</c>.</summary>
    Tmpfs,
}

/// <summary>A mount as <c>-v</c> or <c>--tmpfs</c> asked for it.</summary>
/// <param name="Source">The volume's name, the host path, or "" for a tmpfs.</param>
/// <param name="TmpfsOptions">tmpfs' own options (size=, mode=), already checked.</param>
public sealed partial record MountRequest(MountKind Kind, string Source, string Target, bool ReadOnly, string TmpfsOptions = "")
{
    /// <summary><c>-v NAME:/path[:ro|rw]</c> or <c>-v /host/path:/path[:ro|rw]</c>.</summary>
    /// <exception cref="ContainerConfigException">Malformed.</exception>
    public static MountRequest ParseVolume(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var parts = text.Split(':');
        if (parts.Length is < 2 or > 3 || parts[0].Length == 0)
        {
            throw new ContainerConfigException($"invalid volume specification: '{text}' (NAME:/path[:ro] or /host/path:/path[:ro])");
        }

        var readOnly = parts.Length == 3 && parts[2] switch
        {
            "ro" => true,
            "rw" => false,
            _ => throw new ContainerConfigException($"invalid mode \"{parts[2]}\" in volume specification '{text}' (ro or rw)"),
        };
        var target = CheckTarget(parts[1], text);
        if (parts[0].StartsWith('/'))
        {
            return new MountRequest(MountKind.Bind, Path.GetFullPath(parts[0]), target, readOnly);
        }

        return VolumeStore.IsValidName(parts[0])
            ? new MountRequest(MountKind.Volume, parts[0], target, readOnly)
            : throw new ContainerConfigException(
                $"\"{parts[0]}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path");
    }

    /// <summary><c>--tmpfs /path[:size=64m,mode=1777,ro]</c>.</summary>
    public static MountRequest ParseTmpfs(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var target = CheckTarget(colon < 0 ? text : text[..colon], text);
        var options = colon < 0 ? [] : text[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries);
        var readOnly = false;
        var kept = new List<string>();
        foreach (var option in options)
        {
            if (option is "ro" or "rw")
            {
                readOnly = option == "ro";
            }
            else if (TmpfsOption().IsMatch(option))
            {
                kept.Add(option);
            }
            else
            {
                throw new ContainerConfigException($"invalid tmpfs option \"{option}\" in '{text}' (size=N[k|m|g|%], mode=OCTAL, ro, rw)");
            }
        }

        if (!kept.Any(o => o.StartsWith("mode=", StringComparison.Ordinal)))
        {
            kept.Add("mode=1777"); // docker's default: a /tmp-like directory
        }

        return new MountRequest(MountKind.Tmpfs, "", target, readOnly, string.Join(',', kept));
    }

    private static string CheckTarget(string target, string text)
    {
        if (!target.StartsWith('/') || target.Split('/').Any(p => p is "." or "..") || target.TrimEnd('/').Length == 0)
        {
            throw new ContainerConfigException($"invalid mount path '{target}' in '{text}': it must be absolute, not '/', without '.' or '..'");
        }

        return "/" + string.Join('/', target.Split('/', StringSplitOptions.RemoveEmptyEntries));
    }

    [GeneratedRegex("^(size=[0-9]+[kKmMgG%]?|mode=[0-7]{3,4})$")]
    private static partial Regex TmpfsOption();
}
