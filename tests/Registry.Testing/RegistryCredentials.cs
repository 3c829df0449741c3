using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Registry.Testing;

/// <summary>A user name and a password (or personal access token) for a registry.</summary>
public sealed record RegistryCredentials(string Username, string Password)
{
    /// <summary><c>USER:PASSWORD</c>, as skopeo's and podman's <c>--creds</c> and ctr's <c>--user</c> take it.</summary>
    public string UserColonPassword => $"{Username}:{Password}";

    public AuthenticationHeaderValue BasicHeader()
        => new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(UserColonPassword)));

    /// <summary>
    /// Writes a docker <c>config.json</c> (also the containers <c>auth.json</c> format of skopeo
    /// and podman's <c>--authfile</c>) holding these credentials for <paramref name="hostPort"/>.
    /// </summary>
    public void WriteAuthFile(string path, string hostPort)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes(UserColonPassword));
        var config = new JsonObject { ["auths"] = new JsonObject { [hostPort] = new JsonObject { ["auth"] = auth } } };
        File.WriteAllText(path, config.ToJsonString());
    }

    // Never print the secret, even when a test formats the record into a failure message.
    public override string ToString() => $"RegistryCredentials {{ Username = {Username} }}";
}
