namespace Registry.Api.Tests.Deploy;

/// <summary>
/// The two Dockerfiles' shape: multi-stage, base images as build arguments defaulting to the official ones, the
/// registry as an unprivileged user with a health check through its own probe, the node agent as root with rn-init.
/// (Building them needs those base images, which cannot be pulled here.)
/// </summary>
public sealed class DockerfileTests
{
    [Fact]
    public void The_registry_image_is_built_in_two_stages_and_runs_unprivileged_with_a_health_check()
    {
        var lines = Instructions("deploy/api/Dockerfile");

        Assert.Contains("ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0", lines);
        Assert.Contains("ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/aspnet:10.0", lines);
        Assert.Equal(["FROM ${SDK_IMAGE} AS build", "FROM ${RUNTIME_IMAGE}"], lines.Where(l => l.StartsWith("FROM ", StringComparison.Ordinal)));
        var user = Assert.Single(lines, l => l.StartsWith("USER ", StringComparison.Ordinal));
        Assert.Equal("USER ${APP_UID}:${APP_UID}", user);
        Assert.Contains("ARG APP_UID=1654", lines);
        Assert.Contains(lines, l => l.StartsWith("HEALTHCHECK ", StringComparison.Ordinal)
            && l.Contains("\"probe\"", StringComparison.Ordinal) && l.Contains("/healthz", StringComparison.Ordinal));
        Assert.Contains("ENTRYPOINT [\"dotnet\", \"/app/Registry.Api.dll\"]", lines);
        // The user comes after the last instruction that needs root.
        Assert.True(lines.IndexOf(user) > lines.FindLastIndex(l => l.StartsWith("COPY ", StringComparison.Ordinal)));
    }

    [Fact]
    public void The_node_image_carries_the_ahead_of_time_compiled_agent_and_its_init_helper()
    {
        var lines = Instructions("deploy/node/Dockerfile");

        Assert.Contains("ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/runtime-deps:10.0", lines);
        Assert.Contains(lines, l => l.StartsWith("RUN dotnet publish src/Registry.Node/Registry.Node.csproj -c Release -r linux-x64", StringComparison.Ordinal));
        Assert.Contains("COPY --from=build /out/registry-node /out/rn-init /usr/local/bin/", lines);
        Assert.Contains("ENTRYPOINT [\"registry-node\"]", lines);
        Assert.Contains("CMD [\"agent\"]", lines);
    }

    [Fact]
    public void The_build_context_leaves_out_build_output_tests_and_local_data()
    {
        var ignored = DeployFiles.Read(".dockerignore").Split('\n').Select(l => l.Trim()).ToList();

        Assert.Contains("**/bin/", ignored);
        Assert.Contains("**/obj/", ignored);
        Assert.Contains("tests/", ignored);
        Assert.Contains("data/", ignored);
        Assert.Contains(".git/", ignored);
    }

    /// <summary>The instructions, with continuation lines joined and comments left out.</summary>
    private static List<string> Instructions(string relative)
    {
        var instructions = new List<string>();
        var current = string.Empty;
        foreach (var raw in DeployFiles.Read(relative).Split('\n'))
        {
            var line = raw.Trim();
            if (line.StartsWith('#') || (line.Length == 0 && current.Length == 0))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                current += line[..^1].Trim() + " ";
                continue;
            }

            instructions.Add((current + line).Trim());
            current = string.Empty;
        }

        return instructions;
    }
}
