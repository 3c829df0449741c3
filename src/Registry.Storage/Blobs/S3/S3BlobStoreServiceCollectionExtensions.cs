using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Registry.Storage.Blobs.S3;

public static class S3BlobStoreServiceCollectionExtensions
{
    /// <summary>
    /// The S3 blob store, configured from <c>Registry:Storage:S3</c> (validated at start: a missing or invalid setting
    /// stops the server with one line naming it), with a start-up step that creates the bucket when it is missing.
    /// </summary>
    public static IServiceCollection AddS3BlobStore(this IServiceCollection services)
    {
        services.AddOptions<S3BlobStoreOptions>().BindConfiguration(S3BlobStoreOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton(sp => new S3BlobStore(sp.GetRequiredService<IOptions<S3BlobStoreOptions>>().Value, sp.GetRequiredService<ILogger<S3BlobStore>>()));
        services.AddBlobStoreRoles<S3BlobStore>();
        services.AddHostedService<S3BucketStartup>();
        return services;
    }
}

/// <summary>Makes sure of the bucket before the server answers: a wrong endpoint or credentials fail the start, not the first push.</summary>
internal sealed class S3BucketStartup(S3BlobStore store) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => store.EnsureBucketAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
