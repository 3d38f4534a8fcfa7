"""``{% include "contributions/_pages.html" with page=page %}`` and the tag it
uses: links to the other pages of a paginated list that keep the rest of
the query (filters, search) as it is."""

from __future__ import annotations

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context: template.Context, number: int, param: str = "page") -> str:
    query = context["request"].GET.copy()
    query[param] = str(number)
    return f"?{query.urlencode()}"
