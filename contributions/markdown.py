"""Markdown rendered by the server, for text the site did not write itself
(a dataset card, for instance): raw HTML in the source stays text, and what
markdown-it gives back is sanitised once more by nh3 before it reaches a
page, so that neither a script nor a ``javascript:`` link survives a
mistake in either of them.
"""

from __future__ import annotations

import nh3
import yaml
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

# What a card needs, no more: no image (it would load a third-party origin),
# no form, no style.
TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
})
ATTRIBUTES = {"a": {"href", "title"}, "th": {"style"}, "td": {"style"}, "ol": {"start"}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})

_parser = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")


def markdown_render(*, text: str, heading_offset: int = 0) -> SafeString:
    """Markdown as HTML that is safe to put in a page. ``heading_offset``
    moves its headings down (1: ``#`` becomes ``<h2>``) under the page's own."""
    tokens = _parser.parse(text)
    if heading_offset:
        for token in tokens:
            if token.type in ("heading_open", "heading_close"):
                token.tag = f"h{min(6, int(token.tag[1]) + heading_offset)}"
    html = _parser.renderer.render(tokens, _parser.options, {})
    clean = nh3.clean(
        html,
        tags=set(TAGS),
        attributes={tag: set(names) for tag, names in ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="nofollow noopener",
        # Table alignment is the only style markdown-it writes.
        filter_style_properties={"text-align"},
        strip_comments=True,
    )
    return mark_safe(clean)  # noqa: S308 - sanitised by nh3 just above


def front_matter_split(text: str) -> tuple[dict, str]:
    """The YAML header of a Markdown file (``---`` lines around it) and its
    body. A header that is not a YAML mapping is left in the body."""
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---\n", 3)
    if end < 0:
        return {}, text
    try:
        data = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return {}, text
    if not isinstance(data, dict):
        return {}, text
    return data, text[end + 5:].lstrip("\n")
