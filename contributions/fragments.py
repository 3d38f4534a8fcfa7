"""Parts of pages kept rendered: empty forms in each process, and the
lists of signed-in pages in the cache, under a key made of what they show:
the rows of a list cost more to render than everything else on the page,
and most visits of a list find it as it was.

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


def latest_ids(models: Iterable[type[Model]], *, counted: Iterable[type[Model]] = ()) -> tuple[int | None, ...]:
    """The newest primary key of each table, and the number of rows of each
    ``counted`` one (for a small table whose rows can also be deleted), in
    one query: rows that are only ever added (events, reviews) move the
    newest key at each change."""
    quote = connection.ops.quote_name
    reads = [f"(SELECT MAX(id) FROM {quote(model._meta.db_table)})" for model in models]
    reads += [f"(SELECT COUNT(*) FROM {quote(model._meta.db_table)})" for model in counted]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(reads)}")
        return tuple(cursor.fetchone())


def corpus_marks(*, corpus_id: int, models: Iterable[type[Model]], jobs: Iterable[type[Model]] = ()) -> tuple:
    """Of one corpus, in one query: the number of rows and the newest key of
    each table (a row added or deleted changes them), and the newest row's
    key, status and progress of each job table (a job moves without a new
    row)."""
    quote = connection.ops.quote_name
    reads: list[str] = []
    for model in models:
        table = quote(model._meta.db_table)
        reads += [f"(SELECT COUNT(*) FROM {table} WHERE corpus_id = %s)",
                  f"(SELECT MAX(id) FROM {table} WHERE corpus_id = %s)"]
    for model in jobs:
        newest = f"FROM {quote(model._meta.db_table)} WHERE corpus_id = %s ORDER BY id DESC LIMIT 1"
        reads += [f"(SELECT id {newest})", f"(SELECT status {newest})", f"(SELECT progress_done {newest})"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(reads)}", [corpus_id] * len(reads))
        return tuple(cursor.fetchone())
