"""The data explorer's pages: a release config, an accepted corpus's
training-ready version, and one row of either. Every query is a GET URL that
can be shared."""

from __future__ import annotations

from django.contrib import messages
from django.core.cache import cache
from django.db.models.fields.json import KeyTransform
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from .. import explorer, releases
from ..charts import Chart
from ..lifecycle import PUBLISHED
from ..models import Corpus, JobStatus, License, Release
from ..templatetags.openllm import language_name, quality_label
from ..texts import GroupedNumber


def _release(request: HttpRequest, version: str) -> Release:
    release = get_object_or_404(
        releases.releases_visible_to(request.user)
        .filter(status=JobStatus.DONE)
        .only(*releases.LIST_FIELDS, "prefix"),
        version=version,
    )
    # What the explorer needs of a built release's files and statistics
    # never changes (a rebuild changes its prefix): read once, then kept.
    # Its statistics hold a line per corpus, which the database would
    # otherwise read whole at each request.
    key = f"explorer:release:1:{release.pk}:{release.prefix}"
    parts = cache.get(key)
    if parts is None:
        parts = (
            Release.objects.filter(pk=release.pk)
            .annotate(configs=KeyTransform("configs", "stats"), languages=KeyTransform("languages", "stats"))
            .values("files", "configs", "languages")
            .get()
        )
        cache.set(key, parts, RELEASE_CACHE_SECONDS)
    release.files = parts["files"] or []
    release.stats = {"configs": parts["configs"] or {}, "languages": parts["languages"] or []}
    return release


RELEASE_CACHE_SECONDS = 24 * 3600


def _corpus(request: HttpRequest, pk: int) -> Corpus:
    # Unpublished corpora exist for maintainers only.
    user = request.user
    if user.is_authenticated and getattr(user, "is_maintainer", False):
        return get_object_or_404(Corpus, pk=pk)
    return get_object_or_404(Corpus, pk=pk, status__in=PUBLISHED)


def _may_read_restricted(request: HttpRequest) -> bool:
    return request.user.is_authenticated


def _charts(summary: explorer.Summary) -> list[Chart]:
    languages: list[tuple[str, float]] = [(language_name(k), n) for k, n in summary.languages]
    lengths: list[tuple[str, float]] = list(summary.lengths)
    licenses: list[tuple[str, float]] = list(summary.licenses)
    return [
        Chart(title=_("Languages"), rows=languages, value_label=_("Rows"), label_header=_("Language")),
        # SPDX ids: the licenses' names are too long for a chart's labels.
        Chart(title=_("Licenses"), rows=licenses, value_label=_("Rows"), label_header=_("License")),
        Chart(
            title=_("Corpora"), rows=[(title or f"#{pk}", n) for pk, title, n in summary.corpora],
            value_label=_("Rows"), label_header=_("Corpus"),
        ),
        Chart(
            title=_("Quality flags"), rows=[(quality_label(k), n) for k, n in summary.flags],
            value_label=_("Rows"), label_header=_("Flag"),
        ),
        Chart(
            title=_("Length in characters"), rows=lengths, kind="columns", value_label=_("Rows"),
            label_header=_("Characters"),
        ),
    ]


# A query's page (rows, counts, charts and the form around them) is the same
# for every visitor who may read the same text: the files never change, so
# it is rendered once and served from the cache. Which corpora are hidden
# is part of the dataset, hence of the key: an unpublished corpus's rows
# go at once.
PAGE_CACHE_SECONDS = explorer.CACHE_SECONDS


def _warn_past_the_end(request: HttpRequest, page: int) -> None:
    messages.warning(request, _("There is no page %(page)s: here is the last one.") % {"page": GroupedNumber(page)})


def _explore(
    request: HttpRequest, dataset: explorer.Dataset | None, context: dict, row_url: str
) -> HttpResponse:
    query, errors = explorer.query_parse(params=request.GET, restricted_text=_may_read_restricted(request))
    for error in errors:
        messages.warning(request, error)
    key = None
    if dataset is not None:
        key = explorer.page_cache_key(
            dataset=dataset, query=query,
            # The page links to itself (next page, sign in and come back).
            variant=[get_language(), request.get_full_path(), row_url, context["here"], context["title"]],
        )
        cached = cache.get(key)
        if cached is not None:
            if query.page > cached["pages"]:
                _warn_past_the_end(request, query.page)
            # Rendered here from our own template, its values escaped there.
            body = mark_safe(cached["html"])  # noqa: S308
            return render(request, "contributions/explorer.html", {"title": context["title"], "body": body})
    summary, facets, rows, timed_out, unavailable = None, None, [], False, False
    if dataset is not None:
        try:
            with explorer.session() as s:
                facets = explorer.explorer_facets(s=s, dataset=dataset)
                summary = explorer.explorer_summary(s=s, dataset=dataset, query=query)
                if query.page > summary.pages:
                    _warn_past_the_end(request, query.page)
                rows = explorer.explorer_page(s=s, dataset=dataset, query=query, summary=summary)
        except explorer.ExplorerTimeout:
            timed_out = True
        except explorer.ExplorerError:
            unavailable = True
    page = min(query.page, summary.pages) if summary else 1
    # Rendered with the request for its path and query only: the page holds
    # no form token nor anything else of the visitor's.
    html = render_to_string(
        "contributions/_explorer.html",
        {
            **context,
            "dataset": dataset,
            "query": query,
            "summary": summary,
            "facets": facets,
            "charts": _charts(summary) if summary else [],
            "rows": rows,
            "row_url": row_url,
            "page": page,
            "pages": summary.pages if summary else 1,
            "first_row": (page - 1) * explorer.PAGE_SIZE + 1,
            "timed_out": timed_out,
            "unavailable": unavailable,
            "may_read_restricted": _may_read_restricted(request),
            "page_size": explorer.PAGE_SIZE,
            "count_cap": explorer.COUNT_CAP,
            "license_names": dict(License.choices),
        },
        request=request,
    )
    if key is not None and summary is not None and not (timed_out or unavailable):
        cache.set(key, {"html": html, "pages": summary.pages}, PAGE_CACHE_SECONDS)
    # Rendered here from our own template, its values escaped there.
    return render(request, "contributions/explorer.html", {"title": context["title"], "body": mark_safe(html)})  # noqa: S308


@require_safe
def explore_release_default(request: HttpRequest, version: str) -> HttpResponse:
    release = _release(request, version)
    config = releases.default_config(
        explorer.release_configs(release=release), (release.stats or {}).get("languages", [])
    )
    if not config:
        raise Http404
    return redirect("contributions:explore_release", version=release.version, config=config)


@require_safe
def explore_release(request: HttpRequest, version: str, config: str) -> HttpResponse:
    release = _release(request, version)
    dataset = explorer.release_dataset(release=release, config=config)
    if dataset is None:
        raise Http404
    context = {
        "release": release,
        "config": config,
        "configs": sorted(explorer.release_configs(release=release)),
        "title": f"{release.version} · {config}",
        "here": reverse("contributions:explore_release", args=[release.version, config]),
    }
    return _explore(request, dataset, context, "contributions:explore_release_row")


@require_safe
def explore_corpus(request: HttpRequest, pk: int) -> HttpResponse:
    corpus = _corpus(request, pk)
    context = {"corpus": corpus, "title": corpus.title, "here": reverse("contributions:explore_corpus", args=[pk])}
    return _explore(request, explorer.corpus_dataset(corpus=corpus), context, "contributions:explore_corpus_row")


def _row_page(request: HttpRequest, dataset: explorer.Dataset | None, row_id: str, context: dict) -> HttpResponse:
    if dataset is None:
        raise Http404
    try:
        with explorer.session() as s:
            row = explorer.explorer_row(s=s, dataset=dataset, row_id=row_id)
    except explorer.ExplorerError:
        messages.error(request, _("The explorer cannot read these files right now: try again in a moment."))
        return render(request, "contributions/explorer_row.html", {**context, "row": None}, status=503)
    if row is None:
        raise Http404
    return render(
        request,
        "contributions/explorer_row.html",
        {
            **context, "row": row, "may_read_restricted": _may_read_restricted(request),
            "license_names": dict(License.choices),
        },
    )


@require_safe
def explore_release_row(request: HttpRequest, version: str, config: str, row_id: str) -> HttpResponse:
    release = _release(request, version)
    context = {
        "release": release, "config": config, "title": f"{release.version} · {config}",
        "back": reverse("contributions:explore_release", args=[release.version, config]),
    }
    return _row_page(request, explorer.release_dataset(release=release, config=config), row_id, context)


@require_safe
def explore_corpus_row(request: HttpRequest, pk: int, doc_index: int) -> HttpResponse:
    corpus = _corpus(request, pk)
    context = {"corpus": corpus, "title": corpus.title, "back": reverse("contributions:explore_corpus", args=[pk])}
    return _row_page(request, explorer.corpus_dataset(corpus=corpus), str(doc_index), context)
