"""Public statistics: the page with its charts, and the same figures as JSON."""

from __future__ import annotations

from datetime import date, datetime

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import patch_cache_control
from django.utils.formats import date_format
from django.utils.safestring import mark_safe
from django.utils.timezone import get_current_timezone_name
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from .. import stats as stats_selectors
from ..charts import Chart
from ..models import Domain, License
from ..payloads import Stats
from ..templatetags.openllm import language_name


def _month_label(month: str) -> str:
    year, number = (int(part) for part in month.split("-"))
    return date_format(date(year, number, 1), "N Y")


def _short_license(code: str, names: dict) -> str:
    name = str(names.get(code, code))
    return code if code in name else name


def _names(stats: Stats) -> dict[str, list[tuple[str, dict]]]:
    """Each breakdown's rows with their name in the reader's language."""
    licenses, domains = dict(License.choices), dict(Domain.choices)
    families = {"open": _("Open"), "restricted": _("Restricted (non-commercial)")}
    return {
        "license": [(str(licenses.get(r["license"], r["license"])), dict(r)) for r in stats["by_license"]],
        # Charts have room for the SPDX id only (the tables give the full name).
        "license_short": [(_short_license(r["license"], licenses), dict(r)) for r in stats["by_license"]],
        "family": [(str(families.get(r["family"], r["family"])), dict(r)) for r in stats["by_license_family"]],
        "language": [(language_name(r["language"]), dict(r)) for r in stats["by_language"]],
        "domain": [(str(domains.get(r["domain"], r["domain"])), dict(r)) for r in stats["by_domain"]],
        "month": [(_month_label(r["month"]), dict(r)) for r in stats["by_month"]],
    }


def _charts(named: dict[str, list[tuple[str, dict]]]) -> dict[str, Chart]:
    def chart(title: str, group: str, key: str, value_label: str, label_header: str, kind: str = "bars") -> Chart:
        rows = [(name, row[key]) for name, row in named[group]]
        return Chart(title=title, rows=rows, kind=kind, value_label=value_label, label_header=label_header)

    return {
        "license": chart(_("Words by license"), "license_short", "words", _("Words"), _("License")),
        "family": chart(_("Words by license family"), "family", "words", _("Words"), _("License family")),
        "language": chart(_("Documents by language"), "language", "documents", _("Documents"), _("Language")),
        "domain": chart(_("Words by domain"), "domain", "words", _("Words"), _("Domain")),
        "accepted": chart(
            _("Corpora accepted per month"), "month", "corpora_accepted", _("Corpora"), _("Month"), "columns"
        ),
        "joined": chart(_("Members joined per month"), "month", "members_joined", _("Members"), _("Month"), "columns"),
        "words_total": chart(
            _("Words accepted, cumulative"), "month", "words_total", _("Words"), _("Month"), "columns"
        ),
        "corpora_total": chart(
            _("Corpora accepted, cumulative"), "month", "corpora_total", _("Corpora"), _("Month"), "columns"
        ),
    }


def _duration(seconds: float | None) -> str:
    """A wait in words, rounded to the unit that reads best."""
    if seconds is None:
        return ""
    if seconds < 3600:
        minutes = max(1, round(seconds / 60))
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    if seconds < 2 * 86400:
        hours = round(seconds / 3600)
        return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
    days = round(seconds / 86400)
    return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}


# The rendered figures are the same for every visitor: kept as long as the
# figures they show (stats_cached), for each language and time zone.
PAGE_CACHE_VERSION = 1


def _page_cache_key(stats: Stats) -> str:
    return (
        f"stats:page:{PAGE_CACHE_VERSION}:{stats['generated_at']}:{get_language()}:{get_current_timezone_name()}"
    )


@require_safe
def stats_page(request: HttpRequest) -> HttpResponse:
    stats = stats_selectors.stats_cached()
    key = _page_cache_key(stats)
    body = cache.get(key)
    if body is None:
        named = _names(stats)
        # Rendered without the request: nothing of the visitor's goes in.
        body = render_to_string(
            "contributions/_stats.html",
            {
                "stats": stats,
                "named": named,
                "charts": _charts(named),
                "generated_at": datetime.fromisoformat(stats["generated_at"]),
                "median": _duration(stats["review"]["median_seconds_to_decision"]),
            },
        )
        cache.set(key, body, stats_selectors.CACHE_SECONDS)
    # Rendered here from our own template, its values escaped there.
    return render(request, "contributions/stats.html", {"body": mark_safe(body)})  # noqa: S308


@require_safe
def stats_json(request: HttpRequest) -> JsonResponse:
    response = JsonResponse(stats_selectors.stats_cached(), json_dumps_params={"ensure_ascii": False})
    # Open data: any site may read it from the browser.
    response["Access-Control-Allow-Origin"] = "*"
    patch_cache_control(response, public=True, max_age=stats_selectors.CACHE_SECONDS)
    return response
