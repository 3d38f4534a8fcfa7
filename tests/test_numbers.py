"""Counts in sentences: grouped as the reader's language groups digits, with
the plural form still chosen by the number."""

from __future__ import annotations

import pytest
from django.template import Context, Template
from django.utils import translation

MEASURES = '{% include "contributions/_flag_measures.html" %}'


@pytest.mark.parametrize(("language", "flag", "value", "shown"), [
    ("fr", "too_long", 1, "(1 mot)"),
    ("fr", "too_long", 123456, "(123\u00a0456 mots)"),
    ("en", "too_long", 123456, "(123,456 words)"),
    ("en", "no_stop_words", 1, "(1 common word)"),
    ("fr", "no_stop_words", 2500, "(2\u00a0500 mots courants)"),
])
def test_a_count_in_a_sentence_is_grouped_and_chooses_its_plural(language, flag, value, shown):
    with translation.override(language):
        html = Template(MEASURES).render(Context({"measures": [(flag, value)]}))
    assert shown in html


def test_page_numbers_are_grouped(rf):
    from django.core.paginator import Paginator
    from django.template.loader import render_to_string

    page = Paginator(range(2_000_000), 100).page(12_345)
    with translation.override("fr"):
        html = render_to_string("contributions/_pages.html", {"page": page}, request=rf.get("/"))
    assert "Page 12\u00a0345 sur 20\u00a0000" in html
