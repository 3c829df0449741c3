using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Npgsql;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.E2E.Tests;

/// <summary>The shared fixtures themselves: other test projects rely on what these check.</summary>
public sealed class FixtureTests
{
    [Fact]
    public async Task PostgresServer_gives_each_caller_its_own_empty_database()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var server = await PostgresServer.GetAsync();

        var first = await server.CreateDatabaseAsync(ct);
        var second = await server.CreateDatabaseAsync(ct);

        Assert.NotEqual(first, second);
        await ExecuteAsync(first, "CREATE TABLE marker (id int)", ct);
        Assert.Equal(1L, await ScalarAsync(first, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", ct));
        Assert.Equal(0L, await ScalarAsync(second, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'", ct));
        Assert.Same(server, await PostgresServer.GetAsync());
    }

    [Fact]
    public void Test_image_layers_unpack_to_the_diff_ids_of_its_config()
    {
        var image = TestImages.Create(layerCount: 4);

        using var config = JsonDocument.Parse(image.Config.Content);
        var diffIds = config.RootElement.GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray()
            .Select(e => e.GetString()).ToList();
        Assert.Equal(image.Layers.Select(l => l.DiffId), diffIds);
        foreach (var layer in image.Layers)
        {
            using var gzip = new GZipStream(new MemoryStream(layer.Compressed.Content), CompressionMode.Decompress);
            Assert.Equal(layer.DiffId, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(gzip)));
        }
    }

    [Fact]
    public void Test_images_differ_per_build_and_share_layers_only_when_extended()
    {
        var first = TestImages.Create();
        var second = TestImages.Create();
        var extended = TestImages.Extend(first);

        Assert.NotEqual(first.OciManifest.Digest, second.OciManifest.Digest);
        Assert.Empty(first.Layers.Select(l => l.Compressed.Digest).Intersect(second.Layers.Select(l => l.Compressed.Digest)));
        Assert.Equal(first.Layers.Select(l => l.Compressed.Digest), extended.Layers.Take(first.Layers.Count).Select(l => l.Compressed.Digest));
        Assert.Equal(first.Layers.Count + 1, extended.Layers.Count);
    }

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(ct);
    }
}
