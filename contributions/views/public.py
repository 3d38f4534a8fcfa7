"""Public pages, no account needed: the catalogue of accepted corpora, the
page of one corpus (a dataset card), the contributors and their profiles."""

from __future__ import annotations

from django.core.cache import cache
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.views.decorators.http import require_safe

from .. import catalogue, fragments
from ..dashboard import text_went_of_corpus
from ..forms import AbuseReportForm, CatalogueForm
from ..lifecycle import PUBLISHED
from ..models import Corpus, User


@require_safe
def data_list(request: HttpRequest) -> HttpResponse:
    # The results (search form included: it only depends on the query) are
    # the same for every visitor: rendered once, then served from the cache.
    key = catalogue.catalogue_cache_key(params=list(request.GET.lists()), language=get_language())
    results = cache.get(key)
    if results is None:
        form = CatalogueForm(request.GET)
        form.is_valid()  # fields with a bad value drop out of cleaned_data; the form shows why
        values = {name: value for name, value in form.cleaned_data.items() if value not in ("", None)}
        corpora = catalogue.corpora_catalogue(query=catalogue.CatalogueQuery(**values))
        page = Paginator(corpora, catalogue.PAGE_SIZE).get_page(request.GET.get("page"))
        for corpus in page:  # the page's rows, read once here and kept for the template
            corpus.credit = catalogue.credit_name(corpus)  # type: ignore[attr-defined]
        filtered = any(name != "sort" for name in values)
        # Shared by every visitor: rendered without the request (nor the
        # context processors), so that nothing of the visitor's goes in.
        results = render_to_string(
            "contributions/_catalogue.html", {"page": page, "form": form, "filtered": filtered, "query": request.GET}
        )
        cache.set(key, results, catalogue.CATALOGUE_CACHE_SECONDS)
    # Rendered here from our own template, its values escaped there.
    return render(request, "contributions/data_list.html", {"results": mark_safe(results)})  # noqa: S308


@require_safe
def data_detail(request: HttpRequest, pk: int) -> HttpResponse:
    corpus = get_object_or_404(Corpus.objects.select_related("submitter"), pk=pk, status__in=PUBLISHED)
    # The card is the same for every visitor: rendered once, then cached.
    key = catalogue.corpus_page_cache_key(corpus=corpus, language=get_language())
    card = cache.get(key)
    if card is None:
        card = render_to_string("contributions/_data_card.html", _data_card_context(corpus))
        cache.set(key, card, catalogue.CATALOGUE_CACHE_SECONDS)
    return render(
        request,
        "contributions/data_detail.html",
        # Rendered here from our own template, its values escaped there.
        {"corpus": corpus, "card": mark_safe(card), "form": fragments.blank_form(AbuseReportForm)},  # noqa: S308
    )


def _data_card_context(corpus: Corpus) -> dict:
    report = catalogue.corpus_public_report(corpus=corpus)
    submitter = corpus.submitter
    return {
        "corpus": corpus,
        "credit": catalogue.credit_name(corpus),
        "credit_profile": submitter if submitter and submitter.public_profile and submitter.is_active else None,
        "license_url": catalogue.LICENSE_URLS.get(corpus.license),
        "report": report,
        "charts": catalogue.corpus_charts(report=report) if report else [],
        "reviews": catalogue.corpus_review_summary(corpus=corpus),
        # The same record, and the same table, as "where my text went".
        "text_went": text_went_of_corpus(corpus=corpus),
        "explore_url": reverse("contributions:explore_corpus", args=[corpus.pk]),
        "samples": catalogue.corpus_samples(corpus=corpus),
    }


@require_safe
def contributors(request: HttpRequest) -> HttpResponse:
    number = request.GET.get("page", "")
    key = catalogue.contributors_cache_key(page=number, language=get_language())
    ranking = cache.get(key)
    if ranking is None:
        page = Paginator(catalogue.contributors_ranking(), catalogue.PAGE_SIZE).get_page(number)
        ranking = render_to_string("contributions/_contributors.html", {"page": page, "query": request.GET})
        cache.set(key, ranking, catalogue.CATALOGUE_CACHE_SECONDS)
    # Rendered here from our own template, its values escaped there.
    return render(request, "contributions/contributors.html", {"ranking": mark_safe(ranking)})  # noqa: S308


@require_safe
def person(request: HttpRequest, pseudonym: str) -> HttpResponse:
    # A private profile is as absent as an unknown one, except to its owner,
    # who sees what stands for them publicly: the pseudonym and the corpora.
    person = get_object_or_404(User, pseudonym=pseudonym, is_active=True)
    if not person.public_profile and person != request.user:
        return render(request, "404.html", status=404)
    corpora = Paginator(catalogue.person_corpora(person=person), catalogue.PAGE_SIZE).get_page(request.GET.get("page"))
    context: dict = {"person": person, "corpora": corpora}
    if person.public_profile:
        context["figures"] = catalogue.person_figures(person=person)
        context["releases"] = list(catalogue.person_releases(person=person)[:20])
    return render(request, "contributions/person.html", context)
