using System.Text;
using System.Text.Json;

namespace Registry.Node.Client;

/// <summary>
/// Credentials from a docker client config (<c>$DOCKER_CONFIG/config.json</c> or
/// <c>~/.docker/config.json</c>) as <c>docker login</c> writes it: <c>auths.HOST.auth</c> is base64
/// <c>user:password</c>, <c>auths.HOST.identitytoken</c> an OAuth2 refresh token. Credential
/// helpers (<c>credsStore</c>, <c>credHelpers</c>) are external programs that we do not run; a
/// lookup that would need one says so in its notice.
/// </summary>
public sealed class DockerConfigFile
{
    // Docker Hub's key in config.json is a v1 URL, not the host in the reference.
    private static readonly string[] DockerHubKeys = ["https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io"];

    private readonly Dictionary<string, JsonElement> _auths;
    private readonly string? _credsStore;
    private readonly Dictionary<string, string> _credHelpers;

    private DockerConfigFile(string path, Dictionary<string, JsonElement> auths, string? credsStore, Dictionary<string, string> credHelpers)
    {
        Path = path;
        _auths = auths;
        _credsStore = credsStore;
        _credHelpers = credHelpers;
    }

    public string Path { get; }

    /// <summary>Where docker looks: <c>DOCKER_CONFIG</c>'s directory, else <c>HOME/.docker</c>.</summary>
    public static string DefaultPath(string? home = null, string? dockerConfigDirectory = null)
    {
        dockerConfigDirectory ??= home is null ? Environment.GetEnvironmentVariable("DOCKER_CONFIG") : null;
        if (!string.IsNullOrEmpty(dockerConfigDirectory))
        {
            return System.IO.Path.Combine(dockerConfigDirectory, "config.json");
        }

        home ??= Environment.GetEnvironmentVariable("HOME") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return System.IO.Path.Combine(home, ".docker", "config.json");
    }

    /// <summary>Reads the file; null when it does not exist. A malformed file is an error, not silently ignored.</summary>
    public static DockerConfigFile? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllBytes(path));
            var root = document.RootElement;
            var auths = new Dictionary<string, JsonElement>(StringComparer.OrdinalIgnoreCase);
            if (root.TryGetProperty("auths", out var a) && a.ValueKind == JsonValueKind.Object)
            {
                foreach (var entry in a.EnumerateObject())
                {
                    auths[entry.Name] = entry.Value.Clone();
                }
            }

            var credsStore = root.TryGetProperty("credsStore", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
            var helpers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            if (root.TryGetProperty("credHelpers", out var h) && h.ValueKind == JsonValueKind.Object)
            {
                foreach (var entry in h.EnumerateObject().Where(e => e.Value.ValueKind == JsonValueKind.String))
                {
                    helpers[entry.Name] = entry.Value.GetString()!;
                }
            }

            return new DockerConfigFile(path, auths, credsStore, helpers);
        }
        catch (JsonException e)
        {
            throw new RegistryClientException($"{path} is not valid JSON: {e.Message}", e);
        }
    }

    public CredentialLookup Lookup(string registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var entry = FindEntry(registry);
        if (entry is { } value)
        {
            var credential = Decode(registry, value);
            if (credential is not null)
            {
                return new CredentialLookup(credential, null);
            }
        }

        var helper = _credHelpers.TryGetValue(registry, out var h) ? h : _credsStore;
        return helper is null
            ? CredentialLookup.None
            : new CredentialLookup(null,
                $"{Path} keeps credentials for {registry} in the credential helper docker-credential-{helper}, which registry-node does not run; "
                + "give the credentials explicitly or put an \"auths\" entry in the file");
    }

    private JsonElement? FindEntry(string registry)
    {
        var keys = registry == ImageReference.DefaultRegistry ? DockerHubKeys : [registry];
        foreach (var key in keys)
        {
            if (_auths.TryGetValue(key, out var exact))
            {
                return exact;
            }
        }

        // Older clients wrote URLs ("https://host/v1/"); compare their host part.
        foreach (var (key, value) in _auths)
        {
            if (keys.Contains(HostOf(key), StringComparer.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return null;
    }

    private RegistryCredential? Decode(string registry, JsonElement entry)
    {
        if (entry.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var identityToken = entry.TryGetProperty("identitytoken", out var it) && it.ValueKind == JsonValueKind.String ? it.GetString() : null;
        string? username = entry.TryGetProperty("username", out var u) && u.ValueKind == JsonValueKind.String ? u.GetString() : null;
        string? password = entry.TryGetProperty("password", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        if (entry.TryGetProperty("auth", out var auth) && auth.ValueKind == JsonValueKind.String && !string.IsNullOrEmpty(auth.GetString()))
        {
            string decoded;
            try
            {
                decoded = Encoding.UTF8.GetString(Convert.FromBase64String(auth.GetString()!));
            }
            catch (FormatException e)
            {
                throw new RegistryClientException($"{Path}: auths.{registry}.auth is not base64", e);
            }

            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                throw new RegistryClientException($"{Path}: auths.{registry}.auth is not base64 of user:password");
            }

            username = decoded[..colon];
            password = decoded[(colon + 1)..];
        }

        if (string.IsNullOrEmpty(identityToken) && (string.IsNullOrEmpty(username) || password is null))
        {
            return null;
        }

        return new RegistryCredential(username, password, string.IsNullOrEmpty(identityToken) ? null : identityToken);
    }

    private static string HostOf(string key)
    {
        var rest = key;
        var scheme = rest.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            rest = rest[(scheme + 3)..];
        }

        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        return slash >= 0 ? rest[..slash] : rest;
    }
}
