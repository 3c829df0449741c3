using Microsoft.AspNetCore.Connections;
using Registry.Api.Access;
using Registry.Api.Hosting;
using Registry.Storage;

namespace Registry.Api;

public static class RegistryHostExtensions
{
    /// <summary>
    /// Where the embedded default keeps its database and blobs: <c>REGISTRY_DATA_DIR</c>, else
    /// <c>Registry:DataDirectory</c>, else <c>./data</c>.
    /// </summary>
    public static string DataDirectory(this IConfiguration configuration) =>
        Path.GetFullPath(Environment.GetEnvironmentVariable("REGISTRY_DATA_DIR") is { Length: > 0 } env
            ? env
            : configuration["Registry:DataDirectory"] ?? "data");

    public static WebApplicationBuilder AddRegistry(this WebApplicationBuilder builder)
    {
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false);
        builder.Services.AddSingleton<IMemoryPoolFactory<byte>, LargeBlockMemoryPoolFactory>();
        builder.Services.AddRegistryStorage(builder.Configuration, builder.Configuration.DataDirectory());
        builder.Services.AddSingleton<IAccessAuthorizer, AllowAllAuthorizer>();
        return builder;
    }
}
