from __future__ import annotations

from django import template
from django.utils.formats import number_format

from .. import lifecycle
from ..analysis.labels import QUALITY as QUALITY_LABELS
from ..models import LANGUAGES
from ..notifications import notification_render

register = template.Library()
_LANGUAGE_NAMES = dict(LANGUAGES)


@register.filter
def percent(rate: float | None) -> str:
    """0.1234 -> "12.3 %" (localised)."""
    if rate is None:
        return ""
    return f"{number_format(rate * 100, decimal_pos=1)} %"


@register.filter
def language_name(code: str) -> str:
    name = _LANGUAGE_NAMES.get(code)
    return f"{name} ({code})" if name else code


@register.filter
def quality_label(code: str) -> str:
    """A quality flag in plain words; unknown codes as they are."""
    return str(QUALITY_LABELS.get(code, code))


@register.filter
def get(mapping: dict, key: str):
    return mapping.get(key) if mapping else None


@register.filter
def highlight_pii(text: str):
    """The text, escaped, with its personal data in <mark>: corpus text is
    untrusted and never rendered as HTML."""
    from django.utils.html import escape, format_html
    from django.utils.safestring import mark_safe

    from ..analysis.text import find_personal_data

    parts, position = [], 0
    for item in find_personal_data(text):
        if item.start < position:
            continue
        parts.append(escape(text[position : item.start]))
        parts.append(format_html('<mark class="pii pii-{}" title="{}">{}</mark>', item.kind, item.kind, item.value))
        position = item.end
    parts.append(escape(text[position:]))
    return mark_safe("".join(str(p) for p in parts))  # noqa: S308 - every part is escaped above


@register.simple_tag
def document_text(page: dict):
    """A page of a document, escaped, each finding in a <mark> that a link
    can jump to (#finding-N); a finding cut by the page's end is marked in
    both pages."""
    from django.utils.html import escape, format_html
    from django.utils.safestring import mark_safe

    text, offset = page["text"], page["start"]
    parts, position = [], 0
    for finding in page["findings"]:
        start, end = finding["start"] - offset, finding["end"] - offset
        if end <= position or start >= len(text):
            continue
        start = max(start, position)
        parts.append(escape(text[position:start]))
        parts.append(format_html(
            '<mark class="pii pii-{}" id="finding-{}" tabindex="-1">{}</mark>', finding["kind"], finding["number"],
            text[start:end],
        ))
        position = min(end, len(text))
    parts.append(escape(text[position:]))
    return mark_safe("".join(str(p) for p in parts))  # noqa: S308 - every part is escaped above


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
