"""``{% include "contributions/_pages.html" with page=page %}`` and the tag it
uses: links to the other pages of a paginated list that keep the rest of
the query (filters, search) as it is."""

from __future__ import annotations

from django import template
from django.db.models import Model
from django.urls import get_script_prefix, reverse
from django.utils.formats import get_format
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, number: int, param: str = "page") -> str:
    query = context["request"].GET.copy()
    query[param] = str(number)
    return f"?{query.urlencode()}"


# The labels of a model's choices, per field and language, built once: the
# rows of a list show them without Django's get_FOO_display, which builds a
# dictionary of every choice (each a lazy translation) at every call.
_LABELS: dict[tuple[type, str, str], dict[str, str]] = {}


@register.filter
def label(instance: Model, field: str) -> str:
    """``{{ corpus|label:"status" }}``: the label of the field's value."""
    key = (type(instance), field, get_language() or "")
    labels = _LABELS.get(key)
    if labels is None:
        choices = getattr(type(instance)._meta.get_field(field), "flatchoices", [])
        labels = _LABELS[key] = {str(value): str(name) for value, name in choices}
    value = getattr(instance, field)
    return labels.get(str(value), value)


@register.filter
def number(value: int | None) -> str:
    """A whole number with the reader's thousands separator, as ``intcomma``
    writes it, at a fraction of its cost in a long table."""
    if value is None:
        return ""
    try:
        text = f"{int(value):,}"
    except (TypeError, ValueError):
        return str(value)
    return text.replace(",", get_format("THOUSAND_SEPARATOR"))


# A URL of a long list's rows, reversed once per name and prefix and filled
# in with each row's number: reverse() costs as much as the rest of a row.
_SENTINEL = 987654321
_URL_PATTERNS: dict[tuple[str, str], str] = {}


@register.filter
def url_pk(pk: int, name: str) -> str:
    """``{{ corpus.pk|url_pk:"contributions:corpus_detail" }}``, the same as
    ``{% url "contributions:corpus_detail" corpus.pk %}`` for a URL whose one
    argument is a number."""
    key = (name, get_script_prefix())
    pattern = _URL_PATTERNS.get(key)
    if pattern is None:
        pattern = _URL_PATTERNS[key] = reverse(name, args=[_SENTINEL])
    return pattern.replace(str(_SENTINEL), str(int(pk)), 1)


@register.simple_tag
def options(choices, selected="", blank: str | None = None) -> str:
    """``<option>`` elements of ``choices`` (value, label pairs), the one
    equal to ``selected`` selected, after a blank one labelled ``blank``
    when given: one call instead of a template loop per option, which a
    filter form or a table of role selectors repeats hundreds of times."""
    selected = str(selected)
    items = [("", blank)] if blank is not None else []
    return format_html_join(
        "", '<option value="{}"{}>{}</option>',
        ((value, mark_safe(" selected") if str(value) == selected else "", label)
         for value, label in [*items, *choices]),
    )
