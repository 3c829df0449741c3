using System.Security.Cryptography;
using Registry.Storage.Uploads;

namespace Registry.Storage.Tests.Uploads;

public sealed class Sha256StateTests
{
    [Fact]
    public void Libcrypto_is_found_on_linux() => Assert.True(Sha256State.IsSupported);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(63)]
    [InlineData(64)]
    [InlineData(65)]
    [InlineData(1_000_003)]
    public void A_state_saved_at_any_point_resumes_to_the_same_digest(int cut)
    {
        var data = new byte[1_500_000];
        Random.Shared.NextBytes(data);

        byte[] saved;
        using (var first = Sha256State.TryCreate()!)
        {
            first.Append(data.AsSpan(0, cut));
            saved = first.Save();
        }

        using var resumed = Sha256State.TryResume(saved)!;
        resumed.Append(data.AsSpan(cut));
        Assert.Equal(SHA256.HashData(data), resumed.Finish());
    }

    [Fact]
    public void Saving_leaves_the_running_hash_unchanged()
    {
        var data = RandomNumberGenerator.GetBytes(10_000);
        using var hash = Sha256State.TryCreate()!;
        hash.Append(data.AsSpan(0, 5_000));
        _ = hash.Save();
        hash.Append(data.AsSpan(5_000));
        Assert.Equal(SHA256.HashData(data), hash.Finish());
    }

    [Fact]
    public void What_is_not_a_saved_state_is_refused()
    {
        using var hash = Sha256State.TryCreate()!;
        hash.Append(new byte[100]);
        var saved = hash.Save();

        Assert.Null(Sha256State.TryResume([]));
        Assert.Null(Sha256State.TryResume(saved.AsSpan(0, saved.Length - 1)));
        var otherFormat = (byte[])saved.Clone();
        otherFormat[0] = 2;
        Assert.Null(Sha256State.TryResume(otherFormat));
        var overfull = (byte[])saved.Clone();
        BitConverter.TryWriteBytes(overfull.AsSpan(1 + 104), 64u);
        Assert.Null(Sha256State.TryResume(overfull));
        var otherLength = (byte[])saved.Clone();
        BitConverter.TryWriteBytes(otherLength.AsSpan(1 + 108), 28u);
        Assert.Null(Sha256State.TryResume(otherLength));
    }

    [Fact]
    public void A_finished_hash_cannot_be_used_again()
    {
        var hash = Sha256State.TryCreate()!;
        hash.Finish();
        Assert.Throws<ObjectDisposedException>(() => hash.Append([1]));
    }
}
