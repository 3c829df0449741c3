using System.Net;
using System.Text;
using Registry.Node.Cli;

namespace Registry.Node.Agent;

/// <summary>
/// <c>registry-node join</c>: presents a join token to the registry with the node's name, labels,
/// capacity, version and clock, and keeps what it answers — the node's credential — in
/// <c>agent/node.json</c> (<see cref="AgentFiles"/>). The join token is used once and written nowhere.
/// </summary>
internal sealed class NodeJoin(AgentFiles files, TimeProvider time)
{
    /// <summary>Joins and writes node.json; returns the identity it wrote.</summary>
    /// <exception cref="AgentException">A bad URL, an unreachable registry, a refusal, or a node that already joined.</exception>
    /// <exception cref="UsageException">A label that is not KEY=VALUE.</exception>
    public async Task<NodeIdentity> JoinAsync(
        string server, string token, string? name, IReadOnlyList<string> labels, bool force, string nodeRoot, CancellationToken cancellationToken)
    {
        var serverUri = ParseServer(server);
        var labelMap = ParseLabels(labels);
        if (!force && files.ReadIdentity() is { } joined)
        {
            throw new AgentException(
                $"this node has already joined {joined.Server} as {joined.Name} ({files.NodeFile}); run registry-node join --force to join again");
        }

        var request = new JoinRequest(token, name ?? DefaultName(Dns.GetHostName()), labelMap, HostCapacity.Measure(nodeRoot), AgentVersion.Value, time.GetUtcNow());
        JoinAnswer answer;
        using (var client = new NodeServerClient(serverUri, credential: null))
        {
            try
            {
                answer = await client.JoinAsync(request, cancellationToken).ConfigureAwait(false);
            }
            catch (NodeServerUnreachableException e)
            {
                throw new AgentException($"cannot join: {e.Message}");
            }
            catch (NodeServerException e) when (e.Code is not null)
            {
                // JOIN_TOKEN_INVALID, CONFLICT, CLOCK_SKEW, INVALID: the registry's own words say what to fix.
                throw new AgentException($"the registry refused the join: {e.Code}: {e.ServerMessage ?? e.Message}");
            }
            catch (NodeServerException e)
            {
                throw new AgentException($"cannot join: {e.Message}");
            }
        }

        if (string.IsNullOrEmpty(answer.Credential) || string.IsNullOrEmpty(answer.Name))
        {
            throw new AgentException($"the registry at {serverUri} answered the join without a node name or credential");
        }

        var identity = new NodeIdentity(serverUri.AbsoluteUri, answer.Name, answer.Credential, answer.HeartbeatSeconds > 0 ? answer.HeartbeatSeconds : 5);
        files.WriteIdentity(identity);
        return identity;
    }

    /// <exception cref="AgentException">Not an absolute http or https URL with a host.</exception>
    internal static Uri ParseServer(string server) =>
        Uri.TryCreate(server, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0 && string.IsNullOrEmpty(uri.Query) && string.IsNullOrEmpty(uri.Fragment)
            ? uri
            : throw new AgentException($"--server must be an http or https URL, got '{server}'");

    /// <summary>The host name as a DNS label: its first label, lowercased, other characters made '-', at most 63.</summary>
    internal static string DefaultName(string hostName)
    {
        var label = hostName.Split('.')[0].ToLowerInvariant();
        var builder = new StringBuilder(label.Length);
        foreach (var c in label)
        {
            builder.Append(char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) ? c : '-');
        }

        var name = builder.ToString();
        name = name.Length > 63 ? name[..63] : name;
        name = name.Trim('-');
        return name.Length > 0 ? name : "node";
    }

    private static Dictionary<string, string> ParseLabels(IReadOnlyList<string> labels)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var label in labels)
        {
            var equals = label.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new UsageException($"--label must be KEY=VALUE, got '{label}'");
            }

            map[label[..equals]] = label[(equals + 1)..];
        }

        return map;
    }
}
