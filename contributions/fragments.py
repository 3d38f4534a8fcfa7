"""Parts of pages kept rendered: empty forms in each process, and the lists
and corpus pages of signed-in members in the cache, under a key made of
what they show: the rows of a list cost more to render than everything
else on the page, and most visits of a page find it as it was.

The key of a fragment is its name, the state of the rows it shows (a count
and the newest change, read in one small query: a change of the rows
changes the key, so the page shows it at once), the query string and the
language. A fragment holds nothing else of the request, no message, and
CSRF tokens only when asked (``with_forms``): then it is kept for the
browser's CSRF secret alone, which the tokens in it are valid for."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db import connection
from django.db.models import Model
from django.forms import Form
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

from .models import JobStatus, Notification, Release

# Empty forms, rendered once per form and language in each process: Django
# renders every field through templates, which costs more than the rest of
# a page (the release form's fifty-odd checkboxes most of all).
_BLANK_FORMS: dict[tuple[type, str], str] = {}


def blank_form(form_class: type[Form]) -> SafeString:
    key = (form_class, get_language() or "")
    if key not in _BLANK_FORMS:
        _BLANK_FORMS[key] = form_class().as_div()
    return mark_safe(_BLANK_FORMS[key])  # noqa: S308 - rendered by Django's form templates, which escape


# At most this long in the cache: what the key does not follow (a corpus
# renamed in someone else's list) shows within this time.
FRAGMENT_SECONDS = 60


def fragment_render(
    *, request: HttpRequest, name: str, state: object, template: str, context: Callable[[], dict],
    with_forms: bool = False,
) -> SafeString:
    """``template`` rendered with ``context()``, or its copy from the cache
    for the same ``state``, query string and language."""
    parts = f"{name}:{state}:{sorted(request.GET.lists())}:{get_language()}"
    if with_forms:
        get_token(request)  # the browser's secret, made now if it has none yet
        parts += f":{request.META['CSRF_COOKIE']}"
    key = f"fragment:{name}:" + hashlib.sha256(parts.encode()).hexdigest()
    html = cache.get(key)
    if html is None:
        html = render_to_string(template, context(), request=request)
        cache.set(key, html, FRAGMENT_SECONDS)
    return mark_safe(html)  # noqa: S308 - rendered above from our own template, its values escaped there


# One value of a page's state: a scalar subquery and its parameters.
Read = tuple[str, list]


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def newest(*models: type[Model], counted: Iterable[type[Model]] = ()) -> list[Read]:
    """The newest primary key of each table (rows that are only ever added,
    such as events and reviews, move it at each change), and the number of
    rows of each ``counted`` one (a small table whose rows can be deleted)."""
    return [(f"(SELECT MAX(id) FROM {_table(m)})", []) for m in models] + [
        (f"(SELECT COUNT(*) FROM {_table(m)})", []) for m in counted
    ]


def rows_of(model: type[Model], column: str, value: object, *, changed: str = "id") -> list[Read]:
    """How many rows of ``model`` have ``column = value``, and the newest
    ``changed`` among them: a row added, deleted or changed (when
    ``changed`` is the time of its last change) moves one of them."""
    where = f"FROM {_table(model)} WHERE {column} = %s"
    return [(f"(SELECT COUNT(*) {where})", [value]), (f"(SELECT MAX({changed}) {where})", [value])]


def corpus_rows(corpus_id: int, *models: type[Model]) -> list[Read]:
    """``rows_of`` each table's rows of one corpus."""
    return [read for model in models for read in rows_of(model, "corpus_id", corpus_id)]


def latest_job(model: type[Model], corpus_id: int) -> list[Read]:
    """The key, status and progress of a corpus's newest job, which moves
    without a new row."""
    newest_row = f"FROM {_table(model)} WHERE corpus_id = %s ORDER BY id DESC LIMIT 1"
    return [(f"(SELECT {column} {newest_row})", [corpus_id]) for column in ("id", "status", "progress_done")]


def public_releases() -> list[Read]:
    """What moves when a release is published, unpublished or built."""
    built = f"FROM {_table(Release)} WHERE public = %s AND status = %s"
    return [(f"(SELECT {value} {built})", [True, str(JobStatus.DONE)]) for value in ("COUNT(*)", "MAX(finished_at)")]


def read_state(reads: list[Read]) -> tuple:
    """The values of ``reads``, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(sql for sql, _ in reads)}", [p for _, params in reads for p in params])
        return tuple(cursor.fetchone())


def page_state(request: HttpRequest, reads: list[Read]) -> tuple:
    """The values of ``reads``, read in one query with the number of the
    signed-in member's unread notifications, which the page's header then
    shows without counting them again."""
    unread = (f"(SELECT COUNT(*) FROM {_table(Notification)} WHERE user_id = %s AND read_at IS NULL)",
              [request.user.pk])
    values = read_state([*reads, unread])
    request.unread_notifications = values[-1]  # type: ignore[attr-defined]
    return values[:-1]
