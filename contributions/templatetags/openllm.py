from __future__ import annotations

import re

from django import template
from django.utils.formats import number_format
from django.utils.safestring import SafeString

from .. import lifecycle, review
from ..analysis.labels import QUALITY as QUALITY_LABELS
from ..languages import language_name
from ..markdown import markdown_render
from ..models import Corpus, Domain, License
from ..notifications import notification_render
from ..texts import GroupedNumber, message_render

register = template.Library()


@register.filter
def percent(rate: float | None) -> str:
    """0.1234 -> "12.3 %" (localised)."""
    if rate is None:
        return ""
    return f"{number_format(rate * 100, decimal_pos=1)} %"


@register.filter
def signed(value: int | None) -> str:
    """A change in a count: "+1 234", "−84", "0" (grouped as the language does)."""
    if not value:
        return "0"
    return ("+" if value > 0 else "−") + number_format(abs(value), force_grouping=True)


@register.filter
def counted(value: object) -> object:
    """A count that prints grouped ("37 304") and still chooses the plural
    form: ``{% blocktranslate count counter=corpora|length|counted %}``.
    Anything but a whole number is left as it is."""
    return GroupedNumber(value) if isinstance(value, int) and not isinstance(value, bool) else value


@register.filter
def markdown(text: str, heading_offset: int = 0) -> SafeString:
    """Markdown the site did not write itself, safe to put in a page."""
    return markdown_render(text=text or "", heading_offset=int(heading_offset))


@register.filter
def grouped(label: str) -> str:
    """The numbers of a stored label ("10000–30000", "≥ 100000") with the
    reader's thousands separator."""
    return re.sub(r"\d{4,}", lambda match: number_format(int(match.group()), force_grouping=True), str(label))


register.filter("language_name", language_name)
register.filter("claim_is_active", review.claim_is_active)


# The non-commercial licenses' names without the "restricted" note that
# their choices carry in the form: pages show that note as a badge.
_RESTRICTED_NAMES: dict[str, str] = {
    License.CC_BY_NC: "Creative Commons BY-NC 4.0 (CC-BY-NC-4.0)",
    License.CC_BY_NC_SA: "Creative Commons BY-NC-SA 4.0 (CC-BY-NC-SA-4.0)",
}


@register.filter
def license_name(code: str) -> str:
    if name := _RESTRICTED_NAMES.get(code):
        return name
    try:
        return str(License(code).label)
    except ValueError:
        return code


@register.filter
def domain_label(code: str) -> str:
    """A domain's name in the reader's language ("other" -> "Autre")."""
    try:
        return str(Domain(code).label)
    except ValueError:
        return code


@register.filter
def text_language(of: Corpus | str | None) -> str:
    """For a ``lang`` attribute on what members wrote: a document's detected
    language, or a corpus's one declared language; else "" (unknown), so
    that the page's language is not claimed for it."""
    if isinstance(of, Corpus):
        return of.languages[0] if len(of.languages or []) == 1 else ""
    return of if of and of != "und" else ""


@register.filter
def language_names(codes: list[str]) -> str:
    return ", ".join(language_name(code) for code in codes)


@register.filter
def quality_label(code: str) -> str:
    """A quality flag in plain words; unknown codes as they are."""
    return str(QUALITY_LABELS.get(code, code))


@register.filter
def get(mapping: dict, key: str):
    return mapping.get(key) if mapping else None


def _marked(text: str, offset: int, findings: list[tuple[str, int, int, str]]):
    """``text`` (which starts at ``offset`` of its document), escaped, with
    each finding (kind, start, end, attributes) in a <mark>: corpus text is
    untrusted and never rendered as HTML. A finding cut by the text's ends
    is marked on the part that is there."""
    from django.utils.html import escape, format_html
    from django.utils.safestring import mark_safe

    parts, position = [], 0
    for kind, start, end, attributes in findings:
        start, end = max(start - offset, position), end - offset
        if end <= start or start >= len(text):
            continue
        parts.append(escape(text[position:start]))
        parts.append(format_html('<mark class="pii pii-{}" {}>{}</mark>', kind, attributes, text[start:end]))
        position = min(end, len(text))
    parts.append(escape(text[position:]))
    return mark_safe("".join(str(p) for p in parts))  # noqa: S308 - every part is escaped above


@register.filter
def highlight_pii(text: str, findings: list):
    """The start of a document with its findings (``document_findings``,
    computed once for the whole text) marked."""
    from django.utils.html import format_html

    return _marked(text, 0, [(finding["kind"], finding["start"], finding["end"],
                              format_html('title="{}"', finding["kind"])) for finding in findings])


@register.simple_tag
def document_text(page: dict):
    """A page of a document with each finding in a <mark> that a link can
    jump to (#finding-N)."""
    from django.utils.html import format_html

    return _marked(page["text"], page["start"], [
        (finding["kind"], finding["start"], finding["end"],
         format_html('id="finding-{}" tabindex="-1"', finding["number"]))
        for finding in page["findings"]
    ])


# The lifecycle's questions, for templates (which never compare raw statuses).
register.filter("can_submit", lifecycle.can_submit)
register.filter("can_withdraw", lifecycle.can_withdraw)
register.filter("is_editable", lifecycle.is_editable)
register.filter("is_published", lifecycle.is_published)
register.filter("is_in_analysis", lifecycle.is_in_analysis)
register.filter("awaiting_review", lifecycle.awaiting_review)
register.filter("is_failed", lifecycle.is_failed)
register.filter("is_withdrawn", lifecycle.is_withdrawn)
register.filter("job_active", lifecycle.job_is_active)
register.filter("job_can_retry", lifecycle.job_can_retry)
register.filter("notification_text", notification_render)


@register.filter
def message(value, detail: str = "") -> str:
    """A stored message (contributions.texts) in the reader's language;
    ``|message:"technical"`` adds a library's own words, for maintainers."""
    return message_render(value, technical=detail == "technical")
