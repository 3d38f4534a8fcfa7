"""Release pages (a module of its own: ``views.releases`` would hide the
domain module ``contributions.releases`` that the package imports): the
list, a release's page (its card, configs, files and the corpora it
carries), its live build progress, its files and the Atom feed of public
releases."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.contrib.syndication.views import Feed
from django.core.cache import cache
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models.fields.json import KeyTransform
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.formats import number_format
from django.utils.safestring import mark_safe
from django.utils.timezone import get_current_timezone_name
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from .. import lifecycle, releases
from ..lifecycle import PUBLISHED
from ..models import JobStatus, License, Release

LIST_PAGE_SIZE = 20
ENTRIES_PAGE_SIZE = 50
FILES_PAGE_SIZE = 100
# Beyond this many files, the "load it" snippet lists the first ones only.
SNIPPET_FILES = 5


@require_safe
def release_list(request: HttpRequest) -> HttpResponse:
    number = _page_param(request.GET.get("page"))
    maintainer = _audience(request) == "maintainer"
    # Everyone but maintainers sees the same list: rendered once per page and
    # language, again as soon as a release is published, unpublished or
    # rebuilt (the key changes). Maintainers see every release and its status.
    key = None
    if not maintainer:
        state = [releases.public_releases_state(), get_language(), get_current_timezone_name(), number]
        key = "release-list:1:" + hashlib.sha256(repr(state).encode()).hexdigest()
        table = cache.get(key)
        if table is not None:
            # Rendered here from our own template, its values escaped there.
            return render(request, "contributions/release_list.html", {"table": mark_safe(table)})  # noqa: S308
    visible = releases.releases_visible_to(request.user).only(*releases.LIST_FIELDS).order_by("-created_at")
    page = Paginator(visible, LIST_PAGE_SIZE).get_page(number)
    totals = releases.releases_totals(release_ids=[release.pk for release in page])
    rows = [{"release": release, "totals": totals[release.pk]} for release in page]
    table = render_to_string(
        "contributions/_release_list.html",
        {"page": page, "rows": rows, "maintainer": maintainer, "query": QueryDict(f"page={number}" if number else "")},
    )
    if key is not None:
        cache.set(key, table, BODY_CACHE_SECONDS)
    return render(request, "contributions/release_list.html", {"table": mark_safe(table)})  # noqa: S308


def _configs(release: Release) -> tuple[list[dict], str]:
    configs = release.summary_configs or {}  # type: ignore[attr-defined]
    default = releases.default_config(
        {name: config.get("documents", 0) for name, config in configs.items()},
        release.summary_languages or [],  # type: ignore[attr-defined]
    )
    rows = [
        {
            "name": name, "default": name == default, "documents": config.get("documents", 0),
            "words": config.get("words"), "languages": config.get("languages", []),
            "restricted": (config.get("family") or name.partition("-")[0]) == "restricted",
        }
        for name, config in sorted(configs.items())
    ]
    return rows, default


def _files(request: HttpRequest, release: Release) -> list[dict]:
    signed_in = request.user.is_authenticated
    rows = []
    for entry in release.files or []:
        path = entry["path"]
        restricted = releases.is_restricted_path(path)
        rows.append({
            **entry,
            "url": reverse("contributions:release_file", args=[release.version, path]),
            "config": path.split("/")[1] if path.startswith("data/") and path.count("/") >= 2 else "",
            "restricted": restricted,
            "needs_sign_in": restricted and not signed_in,
        })
    return rows


def _entries(page_number: str, release: Release):
    page = Paginator(releases.release_entries(release=release), ENTRIES_PAGE_SIZE).get_page(page_number)
    entries = list(page)
    reviewers = releases.entries_reviewers(entries=entries)
    rows = []
    for entry in entries:
        corpus = entry.corpus
        published = corpus.status in PUBLISHED
        rows.append({
            "entry": entry,
            "corpus": corpus,
            # A corpus unpublished since is named by its number only.
            "published": published,
            "submitter": (releases.credit_name(corpus.submitter) or corpus.submitter_pseudonym) if published else "",
            "reviewers": reviewers.get(corpus.id, []) if published else [],
        })
    return page, rows


def _page_param(raw: str | None) -> str:
    """A page number as given, or "" (the first page) when it is not one: the
    cache keeps one rendering per page, not one per string a visitor types."""
    raw = (raw or "").strip()
    return raw if raw.isdigit() and len(raw) <= 6 else ""


def _audience(request: HttpRequest) -> str:
    # What differs between visitors: members download the restricted files,
    # maintainers see the export command.
    user = request.user
    if not user.is_authenticated:
        return "anonymous"
    return "maintainer" if user.is_maintainer else "member"


def _body_context(request: HttpRequest, release: Release, page_number: str, files_number: str) -> dict:
    configs, default = _configs(release)
    files = _files(request, release)
    default_files = [
        request.build_absolute_uri(f["url"]) for f in files if default and f["config"] == default
    ]
    page, rows = _entries(page_number, release)
    query = QueryDict(mutable=True)
    if page_number:
        query["page"] = page_number
    if files_number:
        query["files"] = files_number
    return {
        "release": release,
        "configs": configs,
        "default_config": default,
        # A release of a terabyte has thousands of shards.
        "files": Paginator(files, FILES_PAGE_SIZE).get_page(files_number),
        "restricted_files": any(f["needs_sign_in"] for f in files),
        "snippet_files": default_files[:SNIPPET_FILES],
        "snippet_more": max(0, len(default_files) - SNIPPET_FILES),
        "folder": f"openllm-{release.version}",
        "page": page,
        "rows": rows,
        "query": query,
        "notes": release.summary_notes,  # type: ignore[attr-defined]
        "card": _card(release),
        "license_names": dict(License.choices),
        "login_url": f"{reverse('account_login')}?next={request.path}",
        "maintainer": _audience(request) == "maintainer",
    }


def _card(release: Release) -> dict | None:
    """The README.md of the release and, for a reader of another language,
    the same card rendered in theirs (the README.md then shown below it)."""
    card = releases.release_card(release=release)
    translated = releases.release_card_translated(
        release=release, card=release.summary_card, language=get_language()  # type: ignore[attr-defined]
    )
    if translated is None:
        return dict(card) if card else None
    return {
        "metadata": card["metadata"] if card else [], "truncated": False,
        "html": translated, "original_html": card["html"] if card else "",
        "original_truncated": bool(card and card["truncated"]),
    }


@require_safe
def release_detail(request: HttpRequest, version: str) -> HttpResponse:
    # What the page shows outside its cached body: never the release's
    # statistics, which the database would have to read whole.
    release = get_object_or_404(
        releases.releases_visible_to(request.user)
        .only(*releases.LIST_FIELDS, "prefix", *LIVE_FIELDS)
        .annotate(last_status_change=releases.last_status_change_subquery()),
        version=version,
    )
    context: dict = {"release": release}
    if release.is_done:
        # A built release's files, card and entries never change: its body is
        # rendered once per page, language and kind of visitor, and again when
        # a corpus it carries is unpublished (a member's new public name shows
        # within BODY_CACHE_SECONDS). Rendered without the request, so no
        # token nor anything of the visitor's goes into the shared copy.
        page_number = _page_param(request.GET.get("page"))
        files_number = _page_param(request.GET.get("files"))
        key = releases.release_page_cache_key(
            release=release,
            variant=[
                get_language(), get_current_timezone_name(), _audience(request),
                request.build_absolute_uri("/"), page_number, files_number,
            ],
        )
        body = cache.get(key)
        if body is None:
            full = releases.release_for_page(user=request.user, version=version)
            body = render_to_string(
                "contributions/_release_body.html", _body_context(request, full, page_number, files_number)
            )
            cache.set(key, body, BODY_CACHE_SECONDS)
        # Rendered here from our own template, its values escaped there.
        context["body"] = mark_safe(body)  # noqa: S308
    return render(request, "contributions/release_detail.html", context)


BODY_CACHE_SECONDS = 60


@require_safe
@never_cache
def release_live(request: HttpRequest, version: str) -> JsonResponse:
    release = get_object_or_404(
        releases.releases_visible_to(request.user).only(*releases.LIST_FIELDS, *LIVE_FIELDS), version=version
    )
    html = render_to_string(
        "contributions/_release_build.html", {"release": release, "live": True}, request=request
    )
    return JsonResponse({"parts": {"release-build": html}, "active": lifecycle.job_is_active(release)})


LIVE_FIELDS = ("error", "progress_done", "progress_total")


@require_safe
def release_file(request: HttpRequest, version: str, path: str) -> HttpResponseBase:
    release = get_object_or_404(
        releases.releases_visible_to(request.user).filter(status=JobStatus.DONE).only("id", "prefix", "files"),
        version=version,
    )
    if path not in {entry["path"] for entry in release.files}:
        raise Http404
    # Non-commercial text goes to members only: an account says who agreed
    # to the licenses' terms.
    if releases.is_restricted_path(path) and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    response = FileResponse(
        default_storage.open(f"{release.prefix}/{path}", "rb"), as_attachment=True,
        filename=path.replace("/", "_"), content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------- feed

FEED_ITEMS = 30


class ReleaseFeed(Feed):
    """Public, built releases, newest first."""

    feed_type = Atom1Feed

    def title(self) -> str:
        return _("%(site)s: dataset releases") % {"site": settings.SITE_NAME}

    def subtitle(self) -> str:
        return _("Every public release of the training data, with its size.")

    def link(self) -> str:
        return reverse("contributions:release_list")

    # Atom asks for an author on the feed (RFC 4287): the platform.
    def author_name(self) -> str:
        return settings.SITE_NAME

    def items(self) -> list[Release]:
        items: list[Release] = list(
            Release.objects.filter(public=True, status=JobStatus.DONE)
            .only(*releases.LIST_FIELDS)
            .annotate(summary_notes=KeyTransform("notes", "stats"))
            .order_by("-created_at")[:FEED_ITEMS]
        )
        totals = releases.releases_totals(release_ids=[release.pk for release in items])
        for release in items:
            release.totals = totals[release.pk]  # type: ignore[attr-defined]
        return items

    def item_title(self, item: Release) -> str:
        return item.version

    def item_description(self, item: Release) -> str:
        totals = item.totals  # type: ignore[attr-defined]
        documents = ngettext("%(count)s document", "%(count)s documents", totals.documents) % {
            "count": number_format(totals.documents, force_grouping=True)}
        words = ngettext("%(count)s word", "%(count)s words", totals.words) % {
            "count": number_format(totals.words, force_grouping=True)}
        corpora = ngettext("from %(count)s corpus", "from %(count)s corpora", totals.corpora) % {
            "count": number_format(totals.corpora, force_grouping=True)}
        summary = f"{documents}, {words}, {corpora}."
        notes = item.summary_notes  # type: ignore[attr-defined]
        if not isinstance(notes, dict):  # a release built before its notes were kept
            return summary
        return f"{summary} {releases.release_notes_summary(notes=notes)}"  # type: ignore[arg-type]

    def item_link(self, item: Release) -> str:
        return reverse("contributions:release_detail", args=[item.version])

    def item_pubdate(self, item: Release):
        return item.finished_at or item.created_at

    def item_updateddate(self, item: Release):
        return item.finished_at or item.created_at


_feed = ReleaseFeed()


@require_safe
def release_feed(request: HttpRequest) -> HttpResponse:
    return _feed(request)
