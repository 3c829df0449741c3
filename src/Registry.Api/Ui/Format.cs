using System.Globalization;
using Markdig;
using Markdig.Renderers.Html;
using Microsoft.AspNetCore.Html;
using Microsoft.AspNetCore.Mvc.Rendering;
using Markdig.Syntax;
using Markdig.Syntax.Inlines;

namespace Registry.Api.Ui;

/// <summary>How the UI writes sizes, times, digests and descriptions.</summary>
public static class Format
{
    // The extensions that add only structure (tables, task lists, strikethrough, bare links); none of those that let
    // the text set HTML attributes (`{data-copy=…}`, `::: class`), ids derived from headings, or embeds.
    private static readonly MarkdownPipeline Pipeline = new MarkdownPipelineBuilder()
        .UsePipeTables()
        .UseEmphasisExtras()
        .UseTaskLists()
        .UseListExtras()
        .UseAutoLinks()
        .DisableHtml()
        .Build();

    private static readonly string[] Units = ["B", "KB", "MB", "GB", "TB"];

    public static string Size(long bytes)
    {
        double value = bytes;
        var unit = 0;
        while (value >= 1000 && unit < Units.Length - 1)
        {
            value /= 1000;
            unit++;
        }

        return unit == 0 ? $"{bytes} B" : value.ToString(value < 10 ? "0.0" : "0", CultureInfo.InvariantCulture) + " " + Units[unit];
    }

    /// <summary>"3 minutes ago"; the exact time goes in a title attribute beside it.</summary>
    public static string Relative(DateTime utc, DateTime now)
    {
        var ago = now - utc;
        return ago.TotalSeconds < 0 ? "just now"
            : ago.TotalSeconds < 60 ? "just now"
            : ago.TotalMinutes < 60 ? Plural((int)ago.TotalMinutes, "minute") + " ago"
            : ago.TotalHours < 24 ? Plural((int)ago.TotalHours, "hour") + " ago"
            : ago.TotalDays < 31 ? Plural((int)ago.TotalDays, "day") + " ago"
            : ago.TotalDays < 365 ? Plural((int)(ago.TotalDays / 30), "month") + " ago"
            : Plural((int)(ago.TotalDays / 365), "year") + " ago";
    }

    /// <summary>A <c>time</c> element: relative text, the exact time on hover.</summary>
    public static IHtmlContent Time(DateTime utc, DateTime now)
    {
        var tag = new TagBuilder("time");
        tag.Attributes["datetime"] = DateTime.SpecifyKind(utc, DateTimeKind.Utc).ToString("o", CultureInfo.InvariantCulture);
        tag.Attributes["title"] = Exact(utc);
        tag.InnerHtml.Append(Relative(utc, now));
        return tag;
    }

    public static string Exact(DateTime utc) => DateTime.SpecifyKind(utc, DateTimeKind.Utc).ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>The first 12 hex digits, as docker shows image ids.</summary>
    public static string ShortDigest(string digest)
    {
        var hex = digest.IndexOf(':', StringComparison.Ordinal) is var i and >= 0 ? digest[(i + 1)..] : digest;
        return hex.Length > 12 ? hex[..12] : hex;
    }

    /// <summary>
    /// Markdown to HTML with raw HTML disabled (it is shown as text) and links limited to http(s), mailto and
    /// relative targets; the only HTML the UI writes unescaped.
    /// </summary>
    public static string Markdown(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return string.Empty;
        }

        var document = Markdig.Markdown.Parse(text, Pipeline);

        // No attribute that the text could influence reaches the page: a data-* attribute would be picked up by the
        // page's scripts, an id could stand in for one of the page's own elements.
        foreach (var node in document.Descendants())
        {
            node.SetAttributes(new HtmlAttributes());
        }

        foreach (var link in document.Descendants<LinkInline>())
        {
            if (!IsSafeUrl(link.Url))
            {
                link.Url = "#";
            }
        }

        foreach (var link in document.Descendants<AutolinkInline>())
        {
            if (!IsSafeUrl(link.Url))
            {
                link.Url = "#";
            }
        }

        return Markdig.Markdown.ToHtml(document, Pipeline);
    }

    /// <summary>
    /// A one-line plain-text summary of a Markdown description for listings: its first paragraph, else its first
    /// heading (a README usually starts with the repository's name), without Markdown syntax, at most 160 characters.
    /// </summary>
    public static string Summary(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return string.Empty;
        }

        var document = Markdig.Markdown.Parse(text, Pipeline);
        var block = (Markdig.Syntax.LeafBlock?)document.Descendants<Markdig.Syntax.ParagraphBlock>().FirstOrDefault()
            ?? document.Descendants<Markdig.Syntax.HeadingBlock>().FirstOrDefault();
        var source = block is null ? text : text.Substring(block.Span.Start, Math.Min(block.Span.Length, text.Length - block.Span.Start));
        var plain = string.Join(' ', Markdig.Markdown.ToPlainText(source, Pipeline)
            .Split((char[])['\n', '\r', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries))
            .TrimStart('#', ' ');
        return plain.Length > 160 ? plain[..160] + "…" : plain;
    }

    private static bool IsSafeUrl(string? url)
    {
        if (string.IsNullOrEmpty(url))
        {
            return true;
        }

        if (!Uri.TryCreate(url.Trim(), UriKind.RelativeOrAbsolute, out var uri))
        {
            return false;
        }

        return !uri.IsAbsoluteUri ? !url.Contains(':', StringComparison.Ordinal) : uri.Scheme is "http" or "https" or "mailto";
    }

    private static string Plural(int n, string unit) => n == 1 ? $"1 {unit}" : $"{n} {unit}s";
}
