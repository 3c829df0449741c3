using Registry.Node.Client;

namespace Registry.Node.Runtime;

/// <summary>
/// Applies docker's rules for combining an image's config with <c>run</c>'s overrides:
/// entrypoint + (arguments, else the image's Cmd), where <c>--entrypoint</c> also drops the
/// image's Cmd; the image's Env with <c>-e</c> on top, PATH, HOSTNAME and HOME filled in as
/// docker fills them; the working directory from <c>-w</c>, WorkingDir or "/".
/// </summary>
internal static class ProcessSpecResolver
{
    public const string DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

    /// <exception cref="ContainerConfigException">No command, a relative working directory, or an unknown user.</exception>
    public static ProcessSpec Resolve(ImageConfig image, RunRequest request, string hostname, ImageRootFiles rootFiles)
    {
        List<string> entrypoint = request.Entrypoint switch
        {
            null => [.. image.Entrypoint ?? []],
            "" => [],
            { } executable => [executable],
        };
        IReadOnlyList<string> cmd = request.Command.Count > 0 ? request.Command
            : request.Entrypoint is not null ? []
            : image.Cmd ?? [];
        var args = entrypoint.Concat(cmd).ToList();
        if (args.Count == 0)
        {
            throw new ContainerConfigException("no command specified");
        }

        var cwd = string.IsNullOrEmpty(request.WorkingDir) ? (string.IsNullOrEmpty(image.WorkingDir) ? "/" : image.WorkingDir) : request.WorkingDir;
        if (!cwd.StartsWith('/'))
        {
            throw new ContainerConfigException($"the working directory '{cwd}' is invalid, it needs to be an absolute path");
        }

        var userSpec = request.User ?? image.User;
        var user = ContainerUser.Resolve(userSpec, rootFiles.ReadText("/etc/passwd"), rootFiles.ReadText("/etc/group"));

        var env = new List<string>();
        Set(env, $"HOSTNAME={hostname}");
        foreach (var variable in image.Env)
        {
            Set(env, variable);
        }

        foreach (var variable in request.Env)
        {
            if (variable.Length == 0 || variable[0] == '=')
            {
                throw new ContainerConfigException($"invalid environment variable: {variable}");
            }

            if (variable.Contains('=', StringComparison.Ordinal))
            {
                Set(env, variable);
            }
            else if (Environment.GetEnvironmentVariable(variable) is { } value)
            {
                Set(env, $"{variable}={value}");
            }
        }

        if (!env.Any(e => e.StartsWith("PATH=", StringComparison.Ordinal)))
        {
            env.Add($"PATH={DefaultPath}");
        }

        if (!env.Any(e => e.StartsWith("HOME=", StringComparison.Ordinal)))
        {
            env.Add($"HOME={user.Home}");
        }

        return new ProcessSpec(args, env, cwd, user, hostname);
    }

    private static void Set(List<string> env, string variable)
    {
        var equals = variable.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0)
        {
            return;
        }

        var key = variable[..(equals + 1)];
        var index = env.FindIndex(e => e.StartsWith(key, StringComparison.Ordinal));
        if (index >= 0)
        {
            env[index] = variable;
        }
        else
        {
            env.Add(variable);
        }
    }
}
