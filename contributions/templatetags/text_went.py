"""``{% corpus_text_went corpus as entries %}``: the public releases that carry
a corpus, for the pages that show one (the view of those pages stays as it is)."""

from __future__ import annotations

from django import template

from ..dashboard import TextWent, text_went_of_corpus
from ..models import Corpus

register = template.Library()


@register.simple_tag
def corpus_text_went(corpus: Corpus) -> list[TextWent]:
    return text_went_of_corpus(corpus=corpus)
