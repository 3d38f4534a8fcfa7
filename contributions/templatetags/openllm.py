from __future__ import annotations

from django import template
from django.utils.formats import number_format

from ..models import LANGUAGES

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
def get(mapping: dict, key: str):
    return mapping.get(key) if mapping else None
