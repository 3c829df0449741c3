using Registry.Core;
using Registry.Node.Snapshots;

namespace Registry.Node.Tests.Snapshots;

/// <summary>Chain ids against values computed independently with <c>printf 'PARENT DIFF' | sha256sum</c>.</summary>
public sealed class ChainIdsTests
{
    private static readonly Digest Empty = Digest.Parse("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    private static readonly Digest B = Digest.Parse("sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d");
    private static readonly Digest C = Digest.Parse("sha256:2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6");

    [Fact]
    public void The_bottom_layers_chain_id_is_its_diff_id()
    {
        Assert.Equal([Empty], ChainIds.Compute([Empty]));
    }

    [Fact]
    public void Each_further_chain_id_hashes_the_parents_chain_id_a_space_and_the_diff_id()
    {
        var chain = ChainIds.Compute([Empty, B, C]);

        Assert.Equal(
            [
                Empty,
                Digest.Parse("sha256:476bb6097114e56df6a058a9345a1b4df7fd4bdd65903498b074306ba7ccd926"),
                Digest.Parse("sha256:e92551d3402339b745d7d5b40120aa4efc4e7d5f6d9b5dff6ff4bd3969f74d00"),
            ],
            chain);
    }

    [Fact]
    public void The_same_layer_on_another_parent_has_another_chain_id()
    {
        Assert.NotEqual(ChainIds.Compute([Empty, C])[1], ChainIds.Compute([B, C])[1]);
    }
}
