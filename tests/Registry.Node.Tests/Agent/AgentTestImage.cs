using System.Security.Cryptography;
using System.Text.Json;
using Registry.Node.Agent;
using Registry.Node.Tests.Client;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Agent;

/// <summary>
/// A busybox test image pushed to our registry, named as the registry names it in a desired state
/// (<c>HOST/repository@sha256:…</c>), and a pull token for it: a real registry token that grants
/// pull on that repository only, as the registry hands one to a node with each container.
/// </summary>
internal sealed record AgentTestImage(string Image, string Repository, string PullToken)
{
    public static async Task<AgentTestImage> PushAsync(RegistryFixture fixture)
    {
        var repository = RegistryFixture.NewRepository("agent");
        string digest;
        using (var push = new DistributionPush(fixture.Registry))
        {
            digest = await push.PushImageAsync(repository, "v1", TestImages.Create(layerCount: 2));
        }

        using var http = new HttpClient { BaseAddress = fixture.Registry.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/auth/token?service=registry&scope=repository:{repository}:pull");
        request.Headers.Authorization = fixture.Registry.Admin.BasicHeader();
        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"token request answered {(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        return new AgentTestImage($"{fixture.Registry.HostPort}/{repository}@{digest}", repository, json.RootElement.GetProperty("token").GetString()!);
    }

    public static string NewId() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    /// <summary>A container of this image as the registry's desired state lists it.</summary>
    public DesiredContainer Container(
        string id, IReadOnlyList<string> command, string desired = DesiredContainer.Running, long startSerial = 1, string restart = "no", long placement = 1, string? pullToken = null) => new()
        {
            Id = id,
            Placement = placement,
            Image = Image,
            Reference = $"{Repository}:v1",
            Command = command,
            Restart = restart,
            Desired = desired,
            StartSerial = startSerial,
            PullToken = pullToken ?? PullToken,
            PullTokenExpiresAt = DateTimeOffset.UtcNow.AddMinutes(10),
        };
}
