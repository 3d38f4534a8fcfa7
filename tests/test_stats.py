"""Public statistics (/stats/, /stats.json, the home page's figures).

The expected figures are worked out here from the test's own description of
the data (plain Python over the spec), never by calling contributions.stats.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation

from contributions import lifecycle, review, stats
from contributions.models import (
    RESTRICTED_LICENSES,
    Corpus,
    CorpusEvent,
    CorpusLanguage,
    JobStatus,
    Release,
    User,
)
from contributions.models import CorpusStatus as S

from .factories import MaintainerFactory, UserFactory

pytestmark = pytest.mark.django_db

PUBLISHED = {S.APPROVED, S.QUEUED_FOR_TRAINING, S.RELEASED}


def at(year: int, month: int, day: int = 15, hour: int = 12) -> datetime:
    # Mid-month at noon: the same month in UTC and in the site's time zone.
    return datetime(year, month, day, hour, tzinfo=UTC)


@dataclass
class Spec:
    owner: str
    status: S
    license: str = "etalab-2.0"
    domain: str = "administrative"
    documents: int = 0
    words: int = 0
    languages: dict[str, int] = field(default_factory=dict)
    # (submitted at, decided at, outcome status): each round of review.
    rounds: list[tuple[datetime, datetime, S]] = field(default_factory=list)
    submitted_at: datetime | None = None
    # Events after the review (unpublishing): (from, to, when).
    after: list[tuple[S, S, datetime]] = field(default_factory=list)


USERS = {
    # name: (joined, active)
    "ana": (at(2026, 3, 2), True),
    "bob": (at(2026, 3, 20), True),
    "cid": (at(2026, 5), True),
    "dee": (at(2026, 7), False),  # suspended: no longer counted
    "eve": (at(2026, 6), True),
}

SPECS = [
    # Accepted.
    Spec("ana", S.APPROVED, "etalab-2.0", "administrative", 100, 5000, {"fr": 90, "en": 10},
         rounds=[(at(2026, 3, 18), at(2026, 3, 22), S.CHANGES_REQUESTED),
                 (at(2026, 4, 1), at(2026, 4, 1, 15), S.APPROVED)]),
    Spec("ana", S.RELEASED, "CC-BY-NC-4.0", "literature", 40, 9000, {"fr": 40},
         rounds=[(at(2026, 4, 10), at(2026, 4, 12), S.APPROVED)]),
    Spec("bob", S.QUEUED_FOR_TRAINING, "CC-BY-4.0", "legal", 10, 700, {"de": 6, "fr": 4},
         rounds=[(at(2026, 6, 1), at(2026, 6, 11), S.APPROVED)]),
    Spec("dee", S.RELEASED, "etalab-2.0", "news", 7, 300, {"fr": 7},
         rounds=[(at(2026, 6, 20), at(2026, 6, 20, 13), S.APPROVED)]),
    # Imported without an audit trail: counted in the month it was submitted.
    Spec("bob", S.APPROVED, "public-domain", "legal", 3, 30, {}, submitted_at=at(2026, 8)),
    # Private: never counted as accepted, whatever their size.
    Spec("cid", S.DRAFT, "CC0-1.0", "web", 1000, 10**6, {"fr": 1000}),
    Spec("cid", S.REJECTED, "CC0-1.0", "web", 500, 10**5, {"it": 500},
         rounds=[(at(2026, 5, 2), at(2026, 5, 9), S.REJECTED)]),
    # Accepted, then unpublished by a maintainer.
    Spec("ana", S.WITHDRAWN, "CC-BY-SA-4.0", "news", 300, 20000, {"es": 300},
         rounds=[(at(2026, 5, 3), at(2026, 5, 4), S.APPROVED)],
         after=[(S.APPROVED, S.WITHDRAWN, at(2026, 5, 25))]),
    Spec("bob", S.CHANGES_REQUESTED, "CC-BY-4.0", "web", 20, 2000, {"fr": 20},
         rounds=[(at(2026, 7, 1), at(2026, 7, 31), S.CHANGES_REQUESTED)]),
    Spec("cid", S.FAILED, "CC0-1.0", "web", 0, 0, {}),
    Spec("eve", S.AWAITING_REVIEW, "CC0-1.0", "web", 5, 50, {"fr": 5}, submitted_at=at(2026, 8, 2)),
    Spec("eve", S.SUBMITTED, "CC0-1.0", "web", 0, 0, {}),
    Spec("eve", S.PROCESSING, "CC0-1.0", "web", 0, 0, {}),
]

RELEASES = [("r1", True, JobStatus.DONE), ("r2", False, JobStatus.DONE), ("r3", True, JobStatus.FAILED)]


def build(specs: list[Spec] = SPECS) -> dict[str, User]:
    users = {}
    for name, (joined, active) in USERS.items():
        users[name] = UserFactory(email=f"{name}@example.org", date_joined=joined, is_active=active)
    for index, spec in enumerate(specs):
        corpus = Corpus.objects.create(
            submitter=users[spec.owner], submitter_pseudonym=users[spec.owner].pseudonym, title=f"Corpus {index}",
            description="x", languages=list(spec.languages) or ["fr"], license=spec.license, domain=spec.domain,
            status=spec.status, documents=spec.documents, words=spec.words, created_at=at(2026, 1),
            submitted_at=spec.submitted_at or (spec.rounds[-1][0] if spec.rounds else None),
        )
        CorpusLanguage.objects.bulk_create(
            CorpusLanguage(corpus=corpus, language=code, documents=n) for code, n in spec.languages.items()
        )
        events = []
        for submitted, decided, outcome in spec.rounds:
            events += [
                CorpusEvent(corpus=corpus, from_status=S.DRAFT, to_status=S.SUBMITTED, created_at=submitted),
                CorpusEvent(corpus=corpus, from_status=S.SUBMITTED, to_status=S.AWAITING_REVIEW,
                            created_at=submitted + timedelta(minutes=5)),
                CorpusEvent(corpus=corpus, from_status=S.AWAITING_REVIEW, to_status=outcome, created_at=decided),
            ]
        events += [CorpusEvent(corpus=corpus, from_status=a, to_status=b, created_at=when) for a, b, when in spec.after]
        CorpusEvent.objects.bulk_create(events)
    for version, public, status in RELEASES:
        Release.objects.create(version=version, public=public, status=status)
    return users


def expected_figures(specs: list[Spec] = SPECS) -> dict:
    """The statistics of SPECS, worked out by hand from the description."""
    active = {name for name, (_joined, is_active) in USERS.items() if is_active}
    accepted = [s for s in specs if s.status in PUBLISHED]

    def grouped(key) -> dict:
        groups: dict[str, dict] = {}
        for s in accepted:
            g = groups.setdefault(key(s), {"corpora": 0, "documents": 0, "words": 0})
            g["corpora"] += 1
            g["documents"] += s.documents
            g["words"] += s.words
        return groups

    languages: dict[str, dict] = {}
    for s in accepted:
        for code, n in s.languages.items():
            row = languages.setdefault(code, {"corpora": 0, "documents": 0})
            row["corpora"] += 1
            row["documents"] += n

    def month(when: datetime) -> str:
        return when.strftime("%Y-%m")

    accepted_in: dict[str, list[Spec]] = {}
    for s in accepted:
        approvals = [decided for _sub, decided, outcome in s.rounds if outcome == S.APPROVED]
        accepted_in.setdefault(month(approvals[0] if approvals else s.submitted_at), []).append(s)
    joined_in: dict[str, int] = {}
    for name in active:
        joined_in[month(USERS[name][0])] = joined_in.get(month(USERS[name][0]), 0) + 1
    months, totals = [], {"corpora": 0, "words": 0, "members": 0}
    first, last = min([*accepted_in, *joined_in]), max([*accepted_in, *joined_in])
    year, number = int(first[:4]), int(first[5:])
    while f"{year:04d}-{number:02d}" <= last:
        key = f"{year:04d}-{number:02d}"
        these = accepted_in.get(key, [])
        totals["corpora"] += len(these)
        totals["words"] += sum(s.words for s in these)
        totals["members"] += joined_in.get(key, 0)
        months.append({
            "month": key, "corpora_accepted": len(these), "documents_accepted": sum(s.documents for s in these),
            "words_accepted": sum(s.words for s in these), "members_joined": joined_in.get(key, 0),
            "corpora_total": totals["corpora"], "words_total": totals["words"], "members_total": totals["members"],
        })
        year, number = (year + 1, 1) if number == 12 else (year, number + 1)

    rounds = [r for s in specs for r in s.rounds]
    waits = [(decided - submitted).total_seconds() for submitted, decided, _outcome in rounds]
    approved = sum(1 for *_times, outcome in rounds if outcome == S.APPROVED)
    by_license = grouped(lambda s: s.license)
    by_family = grouped(lambda s: "restricted" if s.license in RESTRICTED_LICENSES else "open")
    by_domain = grouped(lambda s: s.domain)
    return {
        "totals": {
            "members": len(active),
            "contributors": len({s.owner for s in accepted} & active),
            "corpora": len(accepted),
            "corpora_in_analysis": sum(1 for s in specs if s.status in {S.SUBMITTED, S.PROCESSING}),
            "corpora_awaiting_review": sum(1 for s in specs if s.status == S.AWAITING_REVIEW),
            "documents": sum(s.documents for s in accepted),
            "words": sum(s.words for s in accepted),
            "releases": sum(1 for _v, public, status in RELEASES if public and status == JobStatus.DONE),
        },
        "by_license": sorted(
            ({"license": k, **v} for k, v in by_license.items()), key=lambda r: (-r["words"], r["license"])
        ),
        "by_license_family": sorted(({"family": k, **v} for k, v in by_family.items()), key=lambda r: r["family"]),
        "by_language": sorted(
            ({"language": k, **v} for k, v in languages.items()), key=lambda r: (-r["documents"], r["language"])
        ),
        "by_domain": sorted(
            ({"domain": k, **v} for k, v in by_domain.items()), key=lambda r: (-r["words"], r["domain"])
        ),
        "by_month": months,
        "review": {
            "decided": len(rounds),
            "approved": approved,
            "changes_requested": sum(1 for *_t, outcome in rounds if outcome == S.CHANGES_REQUESTED),
            "rejected": sum(1 for *_t, outcome in rounds if outcome == S.REJECTED),
            "acceptance_rate": approved / len(rounds),
            "median_seconds_to_decision": statistics.median(waits),
        },
    }


def test_stats_json_equals_the_figures_worked_out_from_the_data(client):
    build()
    data = client.get(reverse("contributions:stats_json")).json()
    expected = expected_figures()
    assert data["version"] == 1
    assert datetime.fromisoformat(data["generated_at"]) <= timezone.now()
    for key, value in expected.items():
        assert data[key] == value, key
    assert set(data) == {*expected, "version", "generated_at"}


def test_known_figures_by_hand(client):
    """The same data, a few figures written out, as a check on the test's own sums."""
    build()
    data = client.get(reverse("contributions:stats_json")).json()
    assert data["totals"] == {
        "members": 4, "contributors": 2, "corpora": 5, "corpora_in_analysis": 2, "corpora_awaiting_review": 1,
        "documents": 160, "words": 15030, "releases": 1,
    }
    assert data["by_license_family"] == [
        {"family": "open", "corpora": 4, "documents": 120, "words": 6030},
        {"family": "restricted", "corpora": 1, "documents": 40, "words": 9000},
    ]
    assert data["by_language"][0] == {"language": "fr", "corpora": 4, "documents": 141}
    assert [m["month"] for m in data["by_month"]] == [f"2026-0{n}" for n in range(3, 9)]
    assert [m["corpora_accepted"] for m in data["by_month"]] == [0, 2, 0, 2, 0, 1]
    assert data["by_month"][-1]["words_total"] == 15030
    # Waits: 4 days, 3 hours, 2 days, 10 days, 1 hour, 7 days, 1 day, 30 days: median 3 days.
    assert data["review"]["median_seconds_to_decision"] == 3 * 86400
    assert data["review"]["acceptance_rate"] == 5 / 8


def test_private_corpora_are_never_counted_as_accepted(client):
    private = [s for s in SPECS if s.status not in PUBLISHED]
    build(private)
    data = client.get(reverse("contributions:stats_json")).json()
    assert data["totals"]["corpora"] == 0
    assert data["totals"]["documents"] == data["totals"]["words"] == data["totals"]["contributors"] == 0
    assert data["by_license"] == data["by_license_family"] == data["by_language"] == data["by_domain"] == []
    assert all(m["corpora_accepted"] == 0 and m["words_total"] == 0 for m in data["by_month"])
    # The unpublished corpus was approved once: that decision still counts in the review figures.
    assert data["review"]["approved"] == 1


def test_a_decision_made_through_the_review_is_counted(client):
    owner, maintainer = UserFactory(), MaintainerFactory()
    corpus = Corpus.objects.create(
        submitter=owner, submitter_pseudonym=owner.pseudonym, title="t", description="d", languages=["fr"],
        license="CC-BY-4.0", domain="news", documents=12, words=345,
    )
    lifecycle.corpus_transition(corpus_id=corpus.pk, to=S.SUBMITTED, actor=owner)
    lifecycle.corpus_transition(corpus_id=corpus.pk, to=S.AWAITING_REVIEW)
    review.review_decide(corpus=corpus, reviewer=maintainer, decision="approve")
    data = client.get(reverse("contributions:stats_json")).json()
    assert data["totals"]["corpora"] == 1 and data["totals"]["words"] == 345
    assert data["review"]["decided"] == data["review"]["approved"] == 1
    assert 0 <= data["review"]["median_seconds_to_decision"] < 60
    assert data["by_month"][-1]["month"] == timezone.localtime().strftime("%Y-%m")
    assert data["by_month"][-1]["corpora_accepted"] == 1


def test_median_of_an_even_number_of_waits_is_the_mean_of_the_middle_two(client):
    specs = [
        Spec("ana", S.APPROVED, rounds=[(at(2026, 4, 1), at(2026, 4, 1, 12) + timedelta(hours=hours), S.APPROVED)])
        for hours in (1, 3, 10, 48)
    ]
    build(specs)
    # A decision whose submission the history does not hold (imported data)
    # counts as a decision, but not in the median wait.
    imported = Corpus.objects.create(submitter_pseudonym="x", title="t", description="d", license="CC0-1.0",
                                     domain="web", status=S.REJECTED)
    CorpusEvent.objects.create(corpus=imported, from_status=S.AWAITING_REVIEW, to_status=S.REJECTED,
                               created_at=at(2026, 4, 2))
    data = client.get(reverse("contributions:stats_json")).json()
    assert data["review"]["median_seconds_to_decision"] == 6.5 * 3600
    assert data["review"]["decided"] == 5


def test_empty_site_has_no_figures_and_no_rate(client):
    data = client.get(reverse("contributions:stats_json")).json()
    assert data["totals"]["corpora"] == 0
    assert data["by_month"] == []
    assert data["review"] == {
        "decided": 0, "approved": 0, "changes_requested": 0, "rejected": 0,
        "acceptance_rate": None, "median_seconds_to_decision": None,
    }
    assert client.get(reverse("contributions:stats")).status_code == 200


def test_json_is_open_data_and_language_neutral(client):
    build()
    english = client.get(reverse("contributions:stats_json"), HTTP_ACCEPT_LANGUAGE="en")
    cache.clear()
    french = client.get(reverse("contributions:stats_json"), HTTP_ACCEPT_LANGUAGE="fr")
    assert english["Access-Control-Allow-Origin"] == "*"
    assert english["Content-Type"] == "application/json"
    assert "max-age=300" in english["Cache-Control"]
    strip = lambda data: {k: v for k, v in data.items() if k != "generated_at"}  # noqa: E731
    assert strip(english.json()) == strip(french.json())
    assert {row["license"] for row in english.json()["by_license"]} <= {"etalab-2.0", "CC-BY-NC-4.0", "CC-BY-4.0",
                                                                        "public-domain"}
    assert b"Fran\xc3\xa7ais" not in english.content and b"French" not in english.content


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fr", ['lang="fr"', "Français (fr)", "Juridique", "Domaine public", "avr. 2026", "juin 2026", "juil. 2026"]),
        ("en", ['lang="en"', "French (fr)", "Legal", "Public domain", "April 2026", "June 2026", "July 2026"]),
    ],
)
def test_page_shows_charts_and_tables_in_the_readers_language(client, language, words):
    build()
    response = client.get(reverse("contributions:stats"), HTTP_ACCEPT_LANGUAGE=language)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('role="img"') == 8
    assert html.count("<svg") == 8
    for word in words:
        assert word in html, word
    # Every chart has its numbers as a table, and the breakdowns have theirs.
    assert html.count("<table") >= 8 + 4
    with translation.override(language):
        assert reverse("contributions:stats_json") in html
    # The private corpora's languages never appear.
    assert "(it)" not in html and "(es)" not in html


def test_home_page_shows_the_headline_figures_and_links_to_the_statistics(client):
    build()
    html = client.get(reverse("contributions:home"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert reverse("contributions:stats") in html
    for figure in ("4</strong> members", "2</strong> contributors", "5</strong> corpora accepted",
                   "160</strong> documents", "15,030</strong> words", "1</strong> public release"):
        assert figure in html, figure


def test_figures_are_cached_for_a_few_minutes(client):
    build()
    url = reverse("contributions:stats_json")
    before = client.get(url).json()["totals"]["corpora"]
    Corpus.objects.filter(status=S.DRAFT).update(status=S.APPROVED)
    assert client.get(url).json()["totals"]["corpora"] == before
    cache.clear()
    assert client.get(url).json()["totals"]["corpora"] == before + 1


def _grow(n: int) -> None:
    """n more members, each with an accepted corpus in its own month and language."""
    for i in range(n):
        user = UserFactory(date_joined=at(2020 + i // 12, i % 12 + 1))
        corpus = Corpus.objects.create(
            submitter=user, submitter_pseudonym=user.pseudonym, title=f"c{i}", description="d", languages=["fr"],
            license=["CC-BY-4.0", "CC-BY-NC-4.0", "etalab-2.0"][i % 3], domain=["news", "legal"][i % 2],
            status=S.RELEASED, documents=i + 1, words=10 * (i + 1),
        )
        CorpusLanguage.objects.create(corpus=corpus, language=["fr", "de", "br", "oc"][i % 4], documents=i + 1)
        CorpusEvent.objects.bulk_create([
            CorpusEvent(corpus=corpus, from_status=S.DRAFT, to_status=S.SUBMITTED, created_at=at(2021, 1)),
            CorpusEvent(corpus=corpus, from_status=S.AWAITING_REVIEW, to_status=S.APPROVED,
                        created_at=at(2021, 1) + timedelta(days=i)),
        ])


@pytest.mark.parametrize("name", ["contributions:stats", "contributions:stats_json", "contributions:home"])
def test_query_count_does_not_grow_with_the_data(client, name, django_assert_max_num_queries):
    client.force_login(UserFactory())
    _grow(3)
    with django_assert_max_num_queries(20) as few:
        assert client.get(reverse(name)).status_code == 200
    cache.clear()
    _grow(30)
    with django_assert_max_num_queries(len(few)):
        assert client.get(reverse(name)).status_code == 200
    # Once counted, the figures come from the cache.
    with django_assert_max_num_queries(len(few) - 10):
        assert client.get(reverse(name)).status_code == 200


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("locale", "width"), [("fr-FR", 390), ("en-GB", 390), ("fr-FR", 1280)])
def test_statistics_page_fits_the_screen_in_the_browser(browser, live_server, locale, width, tmp_path):
    build()
    context = browser.new_context(base_url=live_server.url, locale=locale, viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        page.goto("/stats/")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        charts = page.locator('svg[role="img"]')
        assert charts.count() == 8
        assert charts.first.bounding_box()["width"] > 0
        # The numbers behind a chart open without a script.
        page.locator(".chart-figure summary").first.click()
        assert page.locator(".chart-figure table").first.is_visible()
        page.screenshot(path=str(tmp_path / f"stats-{locale}-{width}.png"), full_page=True)
    finally:
        context.close()


def test_the_rendered_page_follows_the_figures_and_the_language(client):
    url = reverse("contributions:stats")
    UserFactory()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "By license" in english
    assert "Par licence" in client.get(url, HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    # The figures computed again (every few minutes): the page shows them.
    members = User.objects.filter(is_active=True).count()
    UserFactory.create_batch(1234 - members)
    assert "1,234" not in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    cache.delete(stats.CACHE_KEY)
    assert "<strong>1,234</strong>" in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
