"""A member's dashboard: their corpora and their progress, what waits for
them, their notifications, and where their text went; the live parts."""

from __future__ import annotations

import re
from pathlib import Path
from unittest import mock

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation

from contributions import dashboard
from contributions.models import (
    AnalysisRun,
    Corpus,
    CorpusStatus,
    JobStatus,
    Notification,
    Release,
    ReleaseEntry,
    TrainingVersion,
)

from .corpora import make_corpus
from .factories import ReviewerFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = {"open-en": {"documents": 5}, "open-fr": {"documents": 50}, "restricted": {"documents": 7}}


def corpus_in(user, status: str, **overrides) -> Corpus:
    corpus = make_corpus(user, **overrides)
    Corpus.objects.filter(pk=corpus.pk).update(status=status, version=1)
    corpus.refresh_from_db()
    return corpus


def release(version: str, *, public: bool = True, status: str = JobStatus.DONE) -> Release:
    return Release.objects.create(
        version=version, public=public, status=status, finished_at=timezone.now(),
        stats={"configs": CONFIGS, "corpora": {}},
    )


def entry(release: Release, corpus: Corpus, **figures) -> ReleaseEntry:
    figures = {"documents": 40, "words": 4000, "excluded": 3, "duplicates": 2, "filtered": 1, "masked": 5, **figures}
    return ReleaseEntry.objects.create(release=release, corpus=corpus, **figures)


def english(client, url: str, **params):
    return client.get(url, params, HTTP_ACCEPT_LANGUAGE="en")


def text(response) -> str:
    """The page's text, tags and runs of spaces left out."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def explorer_path(version: str, config: str) -> str | None:
    try:
        return reverse("contributions:explore_release", args=[version, config])
    except NoReverseMatch:
        return None


# ---------------------------------------------------------------- my corpora


def test_dashboard_shows_my_corpora_with_their_state_and_nobody_elses(client, member, other_member):
    mine = corpus_in(member, CorpusStatus.AWAITING_REVIEW, title="Mes procès-verbaux")
    corpus_in(other_member, CorpusStatus.AWAITING_REVIEW, title="Les procès-verbaux d'un autre")
    client.force_login(member)
    response = english(client, reverse("contributions:dashboard"))
    assert response.status_code == 200
    page = text(response)
    assert "Mes procès-verbaux" in page and "Awaiting review" in page
    assert reverse("contributions:corpus_detail", args=[mine.pk]) in response.content.decode()
    assert "d'un autre" not in response.content.decode()


def test_dashboard_shows_the_latest_corpora_and_links_to_all_of_them(client, member):
    for n in range(dashboard.RECENT_CORPORA + 2):
        corpus_in(member, CorpusStatus.DRAFT, title=f"Corpus numéro {n:02d}")
    client.force_login(member)
    response = english(client, reverse("contributions:dashboard"))
    page = text(response)
    assert "Corpus numéro 11" in page and "Corpus numéro 02" in page
    assert "Corpus numéro 01" not in page and "Corpus numéro 00" not in page
    assert f"All my corpora ({dashboard.RECENT_CORPORA + 2})" in page


def test_analysis_progress_on_the_dashboard_updates_through_its_live_part(client, member):
    corpus = corpus_in(member, CorpusStatus.PROCESSING, title="En cours d'analyse")
    run = AnalysisRun.objects.create(
        corpus=corpus, corpus_version=1, status=JobStatus.RUNNING, progress_done=25, progress_total=100,
        documents_done=120, started_at=timezone.now(),
    )
    client.force_login(member)
    response = english(client, reverse("contributions:dashboard"))
    live_url = reverse("contributions:dashboard_live")
    assert f'data-live="{live_url}"' in response.content.decode()
    assert "Analysis: 25 % · 120 documents" in text(response)

    AnalysisRun.objects.filter(pk=run.pk).update(progress_done=60, documents_done=300)
    data = english(client, live_url).json()
    assert data["active"] is True
    assert "Analysis: 60 % · 300 documents" in re.sub(r"\s+", " ", data["parts"]["dashboard-corpora"])

    AnalysisRun.objects.filter(pk=run.pk).update(status=JobStatus.DONE)
    Corpus.objects.filter(pk=corpus.pk).update(status=CorpusStatus.AWAITING_REVIEW)
    data = english(client, live_url).json()
    assert data["active"] is False
    assert "Awaiting review" in data["parts"]["dashboard-corpora"]


def test_training_progress_shows_on_the_dashboard(client, member):
    corpus = corpus_in(member, CorpusStatus.APPROVED)
    TrainingVersion.objects.create(
        corpus=corpus, corpus_version=1, status=JobStatus.RUNNING, progress_done=1, progress_total=4,
    )
    client.force_login(member)
    response = english(client, reverse("contributions:dashboard"))
    assert "Training-ready version: 25 %" in text(response)
    assert 'data-live="' in response.content.decode()


def test_a_dashboard_with_nothing_under_way_is_not_followed(client, member):
    corpus_in(member, CorpusStatus.AWAITING_REVIEW)
    client.force_login(member)
    response = client.get(reverse("contributions:dashboard"))
    assert reverse("contributions:dashboard_live") not in response.content.decode()


# ---------------------------------------------------------------- what waits for me


def test_corpora_with_changes_requested_wait_for_me(client, member):
    corpus_in(member, CorpusStatus.CHANGES_REQUESTED, title="À reprendre")
    corpus_in(member, CorpusStatus.APPROVED, title="Déjà accepté")
    client.force_login(member)
    response = english(client, reverse("contributions:dashboard"))
    waiting = text(response).split("What waits for me", 1)[1].split("My notifications", 1)[0]
    assert "The reviewers asked for changes on 1 corpus" in waiting
    assert "À reprendre" in waiting and "Déjà accepté" not in waiting
    # A member reviews nothing.
    assert "wait for review" not in waiting and "waits for review" not in waiting


def test_reviewers_see_how_many_corpora_wait_for_their_review(client, member):
    reviewer = ReviewerFactory()
    corpus_in(member, CorpusStatus.AWAITING_REVIEW)
    corpus_in(member, CorpusStatus.AWAITING_REVIEW)
    corpus_in(reviewer, CorpusStatus.AWAITING_REVIEW)  # their own: not theirs to review
    corpus_in(member, CorpusStatus.CHANGES_REQUESTED)
    client.force_login(reviewer)
    response = english(client, reverse("contributions:dashboard"))
    assert "2 corpora wait for review" in text(response)
    assert f'href="{reverse("contributions:review_queue")}"' in response.content.decode()


def test_nothing_waits_says_so(client, member):
    client.force_login(member)
    assert "Nothing waits for you." in text(english(client, reverse("contributions:dashboard")))


# ---------------------------------------------------------------- notifications


def test_dashboard_shows_my_latest_notifications_and_how_many_are_unread(client, member, other_member):
    corpus = corpus_in(member, CorpusStatus.RELEASED, title="Archives")
    for n in range(dashboard.RECENT_NOTIFICATIONS + 2):
        Notification.objects.create(
            user=member, corpus=corpus, kind=Notification.Kind.RELEASED,
            params={"title": "Archives", "release": f"2026-{n + 1:02d}", "documents": 10},
        )
    Notification.objects.filter(user=member, params__release="2026-01").update(read_at=timezone.now())
    Notification.objects.create(user=other_member, kind=Notification.Kind.MESSAGE, message="Pas pour vous")
    client.force_login(member)
    page = text(english(client, reverse("contributions:dashboard")))
    assert f"{dashboard.RECENT_NOTIFICATIONS + 1} unread notifications" in page
    assert "is in the release 2026-07" in page
    assert "is in the release 2026-01" not in page  # older than the latest five
    assert "Pas pour vous" not in page


def test_the_unread_count_is_a_live_part_for_members_only(client, member):
    Notification.objects.create(user=member, kind=Notification.Kind.MESSAGE, message="Bonjour")
    Notification.objects.create(user=member, kind=Notification.Kind.MESSAGE, message="Encore")
    live_url = reverse("contributions:notifications_live")
    assert live_url not in client.get(reverse("contributions:home")).content.decode()

    client.force_login(member)
    html = client.get(reverse("contributions:home")).content.decode()
    assert f'id="unread-count" data-live="{live_url}"' in html
    data = english(client, live_url).json()
    assert data["active"] is True
    assert re.sub(r"<[^>]+>", "", data["parts"]["unread-count"]).strip() == "2 unread notifications"
    assert english(client, live_url)["Cache-Control"].startswith("max-age=0")

    client.post(reverse("contributions:notifications"))
    assert english(client, live_url).json()["parts"]["unread-count"].strip() == ""


# ---------------------------------------------------------------- where my text went


def test_where_my_text_went_lists_each_public_release_with_what_it_kept(client, member, other_member):
    corpus = corpus_in(member, CorpusStatus.RELEASED, title="Délibérations")
    first, second = release("2026-10"), release("2026-12")
    entry(first, corpus, documents=40, excluded=3, duplicates=2, filtered=1, masked=5)
    entry(second, corpus, documents=38, excluded=4, duplicates=6, filtered=0, masked=9)
    # Not where the member's text went: a private release, one still building,
    # one that left every document out, another member's corpus.
    entry(release("brouillon", public=False), corpus, documents=99)
    entry(release("en-cours", status=JobStatus.RUNNING), corpus, documents=98)
    entry(release("vide"), corpus, documents=0, filtered=40)
    entry(second, corpus_in(other_member, CorpusStatus.RELEASED, title="Le corpus d'un autre"), documents=97)

    client.force_login(member)
    response = english(client, reverse("contributions:dashboard"))
    html = response.content.decode()
    section = html.split("Where my text went", 1)[1]
    rows = body_rows(section)
    # Latest release first: kept (and its words), excluded, duplicates, filtered, masked.
    assert len(rows) == 2
    assert re.fullmatch(r"Délibérations 2026-12 \S+ 38 \(4,000 words\) 4 6 0 9", rows[0])
    assert re.fullmatch(r"2026-10 \S+ 40 \(4,000 words\) 3 2 1 5", rows[1])
    for absent in ("brouillon", "en-cours", "vide", "Le corpus d'un autre"):
        assert absent not in section
    assert reverse("contributions:release_detail", args=["2026-12"]) in section


def body_rows(html: str) -> list[str]:
    """The text of each row of the first table body, without the explorer link's words."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = [re.sub(r"<a [^>]*>See its rows[^<]*</a>", "", row) for row in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip() for row in rows]


def test_where_my_text_went_links_to_the_corpus_rows_in_the_explorer(client, member):
    corpus = corpus_in(member, CorpusStatus.RELEASED)
    entry(release("2026-12"), corpus)
    client.force_login(member)
    html = english(client, reverse("contributions:dashboard")).content.decode()
    path = explorer_path("2026-12", "open-fr")
    if path is None:  # the explorer is not there: no link, and no error
        assert "See its rows" not in html
    else:
        assert f'href="{path}?corpus={corpus.pk}"' in html


def test_the_explorer_link_reads_the_configs_of_the_release(client, member):
    corpus = corpus_in(member, CorpusStatus.RELEASED, license="CC-BY-NC-4.0")
    entry(release("2026-12"), corpus)
    client.force_login(member)
    with mock.patch("contributions.dashboard.reverse", side_effect=lambda name, args: f"/x/{args[0]}/{args[1]}/"):
        html = english(client, reverse("contributions:dashboard")).content.decode()
    assert f'href="/x/2026-12/restricted/?corpus={corpus.pk}"' in html


@pytest.mark.parametrize(
    ("license", "languages", "configs", "expected"),
    [
        # Its (first) language in its license family.
        ("etalab-2.0", ["fr"], CONFIGS, "open-fr"),
        ("etalab-2.0", ["en", "fr"], CONFIGS, "open-en"),
        ("etalab-2.0", ["en", "fr"], {"open-fr": {}, "restricted": {}}, "open-fr"),
        # A family with one config for every language.
        ("CC-BY-NC-4.0", ["fr"], CONFIGS, "restricted"),
        ("CC-BY-4.0", ["fr"], {"open": {}, "restricted": {}}, "open"),
        # None of its languages: the family's first config.
        ("etalab-2.0", ["de"], CONFIGS, "open-en"),
        # No config of its family, or no configs at all: no link.
        ("CC-BY-NC-4.0", ["fr"], {"open-fr": {}}, None),
        ("etalab-2.0", ["fr"], None, None),
    ],
)
def test_the_explorer_link_opens_a_config_of_the_corpus_license_family(license, languages, configs, expected):
    with mock.patch("contributions.dashboard.reverse", side_effect=lambda name, args: f"/x/{args[0]}/{args[1]}/"):
        url = dashboard.explore_url(version="v1", configs=configs, license=license, languages=languages, corpus_id=7)
    assert url == (f"/x/v1/{expected}/?corpus=7" if expected else None)


def test_without_the_explorer_there_is_no_link_and_no_error():
    with mock.patch("contributions.dashboard.reverse", side_effect=NoReverseMatch):
        assert dashboard.explore_url(
            version="v1", configs=CONFIGS, license="etalab-2.0", languages=["fr"], corpus_id=7
        ) is None


def test_my_corpus_page_says_where_its_text_went(client, member):
    corpus = corpus_in(member, CorpusStatus.RELEASED)
    other = corpus_in(member, CorpusStatus.RELEASED)
    entry(release("2026-12"), corpus, documents=38, masked=9)
    entry(release("2027-01"), other, documents=12)
    client.force_login(member)
    response = english(client, reverse("contributions:corpus_detail", args=[corpus.pk]))
    section = response.content.decode().split("Where my text went", 1)[1]
    rows = body_rows(section)
    assert len(rows) == 1 and re.fullmatch(r"2026-12 \S+ 38 \(4,000 words\) 3 2 1 9", rows[0])
    assert "2027-01" not in section


def test_a_corpus_in_no_release_shows_no_release_section(client, member):
    corpus = corpus_in(member, CorpusStatus.QUEUED_FOR_TRAINING)
    client.force_login(member)
    html = english(client, reverse("contributions:corpus_detail", args=[corpus.pk])).content.decode()
    assert "Where my text went" not in html


def test_reviewers_read_the_releases_of_a_corpus_under_a_neutral_title(client, member):
    corpus = corpus_in(member, CorpusStatus.RELEASED)
    entry(release("2026-12"), corpus)
    reviewer = ReviewerFactory()
    client.force_login(reviewer)
    html = english(client, reverse("contributions:corpus_detail", args=[corpus.pk])).content.decode()
    assert "Releases that carry this corpus" in html and "Where my text went" not in html


# ---------------------------------------------------------------- the navigation, and no reload anywhere


def test_signed_in_members_have_a_dashboard_link_and_a_menu_that_needs_no_script(client, member):
    client.force_login(member)
    with translation.override("en"):
        html = english(client, reverse("contributions:home")).content.decode()
    assert f'href="{reverse("contributions:dashboard")}"' in html
    assert '<details class="nav-menu">' in html
    menu = html.split('<details class="nav-menu">', 1)[1].split("</details>", 1)[0]
    assert f'href="{reverse("contributions:profile")}"' in menu
    assert f'href="{reverse("account_logout")}"' in menu
    anonymous = english(client.__class__(), reverse("contributions:home")).content.decode()
    assert "nav-menu" not in anonymous and reverse("contributions:dashboard") not in anonymous


def test_no_page_reloads_itself():
    """Live parts update in place: a reload would lose typed text and focus."""
    sources = [*(ROOT / "static").rglob("*.js"), *(ROOT / "templates").rglob("*.html")]
    offenders = [str(p) for p in sources if re.search(r"location\.reload|http-equiv=.?refresh", p.read_text(), re.I)]
    assert offenders == []


# ---------------------------------------------------------------- bounded work


def _fill(member, n: int) -> None:
    reviewer_corpora = [corpus_in(UserFactory(), CorpusStatus.AWAITING_REVIEW) for _ in range(2)]
    assert reviewer_corpora
    for i in range(n):
        status = [CorpusStatus.RELEASED, CorpusStatus.PROCESSING, CorpusStatus.CHANGES_REQUESTED][i % 3]
        corpus = corpus_in(member, status, title=f"Corpus {i}")
        AnalysisRun.objects.create(corpus=corpus, corpus_version=1, status=JobStatus.RUNNING, progress_total=10)
        TrainingVersion.objects.create(corpus=corpus, corpus_version=1, status=JobStatus.DONE)
        Notification.objects.create(user=member, corpus=corpus, kind=Notification.Kind.MESSAGE, message=f"n{i}")
        if status == CorpusStatus.RELEASED:
            for version in (f"r{i}-a", f"r{i}-b"):
                entry(release(version), corpus)


@pytest.mark.parametrize("size", [3, 30])
def test_dashboard_queries_are_bounded(client, django_assert_max_num_queries, size):
    member = ReviewerFactory()
    _fill(member, size)
    client.force_login(member)
    client.get(reverse("contributions:home"))  # the session's first request also records the agreement in it
    # Session and user; unread count (navigation); corpora, their analyses
    # and training versions, and their count; changes requested and their
    # count; review queue count; notifications; releases, their configs and
    # their count.
    with django_assert_max_num_queries(14):
        response = client.get(reverse("contributions:dashboard"))
    assert response.status_code == 200
    with django_assert_max_num_queries(5):
        assert client.get(reverse("contributions:dashboard_live")).status_code == 200
    with django_assert_max_num_queries(3):
        assert client.get(reverse("contributions:notifications_live")).status_code == 200


@pytest.mark.parametrize("size", [3, 30])
def test_corpus_page_releases_take_one_query(client, member, django_assert_max_num_queries, size):
    corpus = corpus_in(member, CorpusStatus.RELEASED)
    for i in range(size):
        entry(release(f"v{i}"), corpus)
    client.force_login(member)
    client.get(reverse("contributions:home"))  # the session's first request also records the agreement in it
    # The page's own queries, two for the key of its rendering in the cache,
    # and two for its releases (entries, then configs).
    with django_assert_max_num_queries(13):
        response = client.get(reverse("contributions:corpus_detail", args=[corpus.pk]))
    assert response.status_code == 200
    assert response.content.decode().count(f'href="{reverse("contributions:release_detail", args=["v0"])}"') == 1
