using Registry.Testing;

namespace Registry.Api.Tests.Deploy;

/// <summary>
/// deploy/systemd/registry-node.service passes <c>systemd-analyze verify</c> (with the binary it names replaced by one
/// that exists here), and keeps the hardening within what a container runtime survives.
/// </summary>
public sealed class SystemdUnitTests : IDisposable
{
    private const string Unit = "deploy/systemd/registry-node.service";
    private const string Binary = "/usr/local/bin/registry-node";

    private readonly TemporaryDirectory _directory = new("systemd-unit");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Systemd_analyze_verifies_the_unit_without_a_complaint()
    {
        var result = await VerifyAsync(DeployFiles.Read(Unit));

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(string.Empty, result.StandardError.Trim());
    }

    [Fact]
    public async Task Systemd_analyze_complains_about_a_wrong_directive()
    {
        // systemd-analyze exits 0 on most mistakes and says so on standard error: that is what the check above reads.
        var result = await VerifyAsync(DeployFiles.Read(Unit).Replace("KillMode=mixed", "KillMode=gently", StringComparison.Ordinal));

        Assert.Contains("kill mode", result.StandardError, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void The_unit_runs_the_agent_with_its_environment_file_restarts_it_and_keeps_its_state()
    {
        var directives = Directives(DeployFiles.Read(Unit));

        Assert.Equal([$"{Binary} agent"], directives["Service.ExecStart"]);
        Assert.Equal(["/etc/registry-node/registry-node.env"], directives["Service.EnvironmentFile"]);
        Assert.Equal(["on-failure"], directives["Service.Restart"]);
        Assert.Equal(["registry-node"], directives["Service.StateDirectory"]);
        Assert.Equal(["0700"], directives["Service.StateDirectoryMode"]);
        Assert.Equal(["multi-user.target"], directives["Install.WantedBy"]);
        Assert.Contains("REGISTRY_NODE_ROOT=/var/lib/registry-node", DeployFiles.Read("deploy/systemd/registry-node.env"), StringComparison.Ordinal);
    }

    [Fact]
    public void The_unit_sets_nothing_its_containers_would_inherit_and_break_on()
    {
        var directives = Directives(DeployFiles.Read(Unit));

        // Each would reach every container (seccomp filters, no_new_privs) or give the agent a mount namespace of its
        // own (read-only cgroupfs, mounts invisible to the command line): see the unit's comment.
        foreach (var breaking in new[]
                 {
                     "NoNewPrivileges", "SystemCallFilter", "RestrictNamespaces", "RestrictAddressFamilies", "ProtectSystem",
                     "ProtectKernelTunables", "ProtectControlGroups", "PrivateTmp", "PrivateDevices", "ProtectHome", "User",
                 })
        {
            Assert.DoesNotContain($"Service.{breaking}", directives.Keys);
        }

        Assert.Contains("CAP_SYS_MODULE", Assert.Single(directives["Service.CapabilityBoundingSet"]), StringComparison.Ordinal);
    }

    private async Task<ProcessResult> VerifyAsync(string unit)
    {
        // verify checks that ExecStart's binary exists; the real one is installed on nodes, not here.
        var path = _directory.Combine("registry-node.service");
        await File.WriteAllTextAsync(path, unit.Replace(Binary, "/bin/true", StringComparison.Ordinal));
        return await ProcessRunner.RunAsync("systemd-analyze", ["verify", path], TimeSpan.FromMinutes(1));
    }

    /// <summary>"Section.Key" → values, in order, from a unit file.</summary>
    private static Dictionary<string, List<string>> Directives(string unit)
    {
        var directives = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var section = string.Empty;
        foreach (var raw in unit.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#') || line.StartsWith(';'))
            {
                continue;
            }

            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = line[1..^1];
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            Assert.True(equals > 0, $"not a directive: {line}");
            var key = $"{section}.{line[..equals]}";
            if (!directives.TryGetValue(key, out var values))
            {
                directives[key] = values = [];
            }

            values.Add(line[(equals + 1)..]);
        }

        return directives;
    }
}
