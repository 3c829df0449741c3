using System.Text;
using Registry.Api.Ui;
using Registry.Storage.Services;

namespace Registry.Api.Tests.Ui;

public sealed class ImageConfigViewTests
{
    private static readonly LayerSummary[] Layers =
    [
        new(0, "sha256:" + new string('a', 64), "application/vnd.oci.image.layer.v1.tar+gzip", 1000),
        new(1, "sha256:" + new string('b', 64), "application/vnd.oci.image.layer.v1.tar+gzip", 2000),
    ];

    [Fact]
    public void EmptyLayerStepsAreMarkedAndTheOthersMatchLayersInOrder()
    {
        var view = Parse("""
            {"architecture":"arm64","os":"linux","variant":"v8","config":{},"history":[
              {"created_by":"/bin/sh -c #(nop) ADD file:123 in / "},
              {"created_by":"/bin/sh -c #(nop)  CMD [\"sh\"]","empty_layer":true},
              {"created_by":"/bin/sh -c apk add curl"},
              {"created_by":"/bin/sh -c #(nop)  LABEL a=b","empty_layer":true}]}
            """);

        Assert.Equal("linux/arm64/v8", view.Platform);
        Assert.Equal(["ADD file:123 in /", "CMD [\"sh\"]", "/bin/sh -c apk add curl", "LABEL a=b"], view.History.Select(h => h.CreatedBy));
        Assert.Equal([false, true, false, true], view.History.Select(h => h.EmptyLayer));
        Assert.Equal([Layers[0], null, Layers[1], null], view.History.Select(h => h.Layer));
    }

    [Fact]
    public void ConfigFieldsAreRead()
    {
        var view = Parse("""
            {"created":"2024-05-01T10:00:00Z","config":{"Env":["A=1"],"Entrypoint":["/init"],"Cmd":["run"],"WorkingDir":"/app","User":"1000",
             "ExposedPorts":{"80/tcp":{}},"Volumes":{"/data":{}},"Labels":{"x":"<script>"}}}
            """);

        Assert.Equal(new DateTime(2024, 5, 1, 10, 0, 0, DateTimeKind.Utc), view.Created);
        Assert.Equal(["A=1"], view.Env);
        Assert.Equal(["/init"], view.Entrypoint!);
        Assert.Equal(["run"], view.Cmd!);
        Assert.Equal("/app", view.WorkingDir);
        Assert.Equal("1000", view.User);
        Assert.Equal(["80/tcp"], view.ExposedPorts);
        Assert.Equal(["/data"], view.Volumes);
        Assert.Equal("<script>", Assert.Single(view.Labels).Value);
    }

    [Fact]
    public void AnArtifactConfigThatIsNoJsonIsNoImageConfig() =>
        Assert.Null(ImageConfigView.Parse(Encoding.UTF8.GetBytes("not json"), Layers));

    private static ImageConfigView Parse(string json) => ImageConfigView.Parse(Encoding.UTF8.GetBytes(json), Layers)!;
}
