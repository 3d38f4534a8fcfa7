"""Releases in the reader's language: the README.md written into a release
stays in English (the Hub's convention), with English plurals and grouped
numbers, whatever language the build runs in; the release page, its notes,
the feed and the notifications put the same data into the reader's words."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import translation

from contributions import releases, review
from contributions.jobs import job_run
from contributions.models import CorpusStatus, Decision, JobStatus, Notification, Release, TrainingVersion
from contributions.notifications import notification_text

from .corpora import FRENCH, analysed, job_finished, jsonl
from .factories import MaintainerFactory

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
FR = {"HTTP_ACCEPT_LANGUAGE": "fr"}
# Django 5.2's French thousands separator: a non-breaking space.
NBSP = "\u00a0"
WORDS = 37_304


@pytest.fixture
def maintainer(db):
    return MaintainerFactory()


def long_document() -> str:
    words = " ".join(FRENCH).split()
    return " ".join(itertools.islice(itertools.cycle(words), WORDS))


def one_document_release(member, maintainer, *, language: str = "fr") -> Release:
    """A public release of one corpus of one document of 37,304 words,
    built with ``language`` active."""
    corpus, _run = analysed(member, [("a.jsonl", jsonl(long_document()))])
    corpus = review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    job_finished("training", TrainingVersion.objects.get(corpus=corpus).id)
    corpus.refresh_from_db()
    assert corpus.status == CorpusStatus.QUEUED_FOR_TRAINING
    assert (corpus.documents, corpus.words) == (1, WORDS)
    release = releases.release_create(actor=maintainer, version="r1", public=True)
    with translation.override(language):
        job_finished("release", release.id)
    release.refresh_from_db()
    assert release.status == JobStatus.DONE, release.error
    return release


def readme(release: Release) -> str:
    with default_storage.open(f"{release.prefix}/README.md", "rb") as handle:
        return handle.read().decode("utf-8")


def test_the_card_file_is_english_with_plurals_and_grouped_numbers(member, maintainer):
    card = readme(one_document_release(member, maintainer))
    assert "## Contents\n\n- 1 document\n- 37,304 words\n- 1 corpus\n- Languages: French (fr)\n" in card
    assert "| `open` (default) | 1 | 37,304 | fr | Open | 1 |" in card
    assert "| Corpus | Title | License | Domain | Source | Contributed by | Approved by | Documents |" in card
    assert "| etalab-2.0 | Administrative | https://example.org/conseil |" in card
    assert "## Processing (`analysis-3`)" in card
    assert "exact duplicates across corpora removed (0)" in card
    for wrong in ("1 documents", "37304", f"37{NBSP}304", "Contenu", "Langues"):
        assert wrong not in card


def test_the_card_says_the_filters_in_english_and_the_page_in_french(member, maintainer):
    corpus, _run = analysed(member, [("a.jsonl", jsonl(*FRENCH))])
    review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    job_finished("training", TrainingVersion.objects.get(corpus=corpus).id)
    release = releases.release_create(actor=maintainer, version="filtered", licenses=["etalab-2.0"], languages=["fr"])
    with translation.override("fr"):
        job_finished("release", release.id)
    release.refresh_from_db()
    assert "\n- Licenses: etalab-2.0\n- Languages: French (fr)\n- Domains: all\n- Quality flags left out: none\n" in (
        readme(release))
    with translation.override("fr"):
        french = releases.card_markdown(card=release.stats["card"])
    assert "\n- Licences\u00a0: etalab-2.0\n- Langues\u00a0: Français (fr)\n- Domaines\u00a0: sans filtre\n" in french
    assert "- Signaux de qualité écartés\u00a0: aucun\n" in french


def test_the_card_file_is_the_same_bytes_whatever_language_the_build_runs_in(member, maintainer):
    release = one_document_release(member, maintainer, language="fr")
    built_in_french = {entry["path"]: entry["sha256"] for entry in release.files}
    Release.objects.filter(pk=release.pk).update(status=JobStatus.QUEUED)
    with translation.override("en"):
        job_run("release", release.id)
    release.refresh_from_db()
    assert release.attempt == 2
    assert {entry["path"]: entry["sha256"] for entry in release.files} == built_in_french
    # The README's body is the English rendering of the data the page renders.
    with translation.override("en"):
        english = releases.card_markdown(card=release.stats["card"])
    assert readme(release).endswith("---\n\n" + english)
    with translation.override("fr"):
        assert releases.card_markdown(card=release.stats["card"]) != english


def test_the_french_release_page_shows_the_card_in_french(client, member, maintainer):
    release = one_document_release(member, maintainer)
    response = client.get(reverse("contributions:release_detail", args=[release.version]), **FR)
    page = response.content.decode()
    card = response.context["card"]
    # The card's Markdown has Django's separator; its sanitised HTML writes it &nbsp;.
    with translation.override("fr"):
        assert f"- 1 document\n- 37{NBSP}304 mots\n" in releases.card_markdown(card=release.stats["card"])
    assert "<h4>Contenu</h4>" in card["html"]
    assert "<li>1 document</li>\n<li>37&nbsp;304 mots</li>\n<li>1 corpus</li>" in card["html"]
    assert "<li>Langues&nbsp;: Français (fr)</li>" in card["html"]
    assert "<td>1</td>\n<td>37&nbsp;304</td>" in card["html"]
    assert "<h4>Traitement (<code>analysis-3</code>)</h4>" in card["html"]
    assert "Administratif" in card["html"] and "Apporté par" in card["html"]
    # The README.md itself, in English, is offered below the translation.
    assert "<li>37,304 words</li>" in card["original_html"]
    assert "Le README.md, en anglais" in page
    # The notes, in French; none of the English text kept for the files.
    assert "La première version" in page and "1 document ajouté" in page and "Mots par licence" in page
    for english in ("First release.", "Words by license", "37304", "37,304 words</li>\n<li>1 corpus"):
        assert english not in page.replace(card["original_html"], "")
    assert f"37{NBSP}304 mots" in page  # the summary at the top


def test_the_english_release_page_shows_the_readme(client, member, maintainer):
    release = one_document_release(member, maintainer)
    response = client.get(reverse("contributions:release_detail", args=[release.version]), **EN)
    page = response.content.decode()
    card = response.context["card"]
    assert "original_html" not in card
    assert "<li>1 document</li>\n<li>37,304 words</li>\n<li>1 corpus</li>" in card["html"]
    assert "The first release:" in page and "1 document added" in page and "Words by license" in page
    assert "Contenu" not in page and f"37{NBSP}304" not in page
    assert "Licence Ouverte / Open Licence 2.0 (etalab-2.0)" in page  # the license's name in the notes


def test_a_release_built_before_the_card_data_shows_its_readme(client):
    default_storage.save("releases/old/attempt-1/README.md", __import__("io").BytesIO(b"# Old card\n"))
    Release.objects.create(
        version="old", status=JobStatus.DONE, public=True, prefix="releases/old/attempt-1",
        files=[{"path": "README.md", "sha256": "0" * 64, "bytes": 11}], stats={"documents": 1},
    )
    response = client.get(reverse("contributions:release_detail", args=["old"]), **FR)
    assert "<h3>Old card</h3>" in response.context["card"]["html"]
    assert "original_html" not in response.context["card"]


def test_the_feed_says_what_changed_in_the_readers_language(client, member, maintainer):
    one_document_release(member, maintainer)
    ns = {"atom": "http://www.w3.org/2005/Atom"}

    def summary(headers) -> str:
        feed = ET.fromstring(client.get(reverse("contributions:release_feed"), **headers).content)
        return feed.find("atom:entry", ns).findtext("atom:summary", namespaces=ns)

    assert summary(EN) == (
        "1 document, 37,304 words, from 1 corpus. "
        "The first release: 1 corpus added, 0 corpora removed, 1 document added, 0 documents removed."
    )
    assert summary(FR) == (
        f"1 document, 37{NBSP}304 mots, issus de 1 corpus. "
        "La première version : 1 corpus ajouté, 0 corpus retiré, 1 document ajouté, 0 document retiré."
    )


def test_the_notes_kept_for_exports_stay_english_with_grouped_numbers(member, maintainer):
    release = one_document_release(member, maintainer)
    assert release.notes.startswith("# r1\n\nFirst release.\n")
    assert "- etalab-2.0: 37,304 (+37,304)" in release.notes
    assert release.stats["notes"]["words_by_license"] == [{"license": "etalab-2.0", "words": WORDS, "change": WORDS}]


def test_the_release_notification_groups_its_numbers(member, maintainer):
    one_document_release(member, maintainer)
    assert Notification.objects.filter(user=member, kind=Notification.Kind.RELEASED).exists()
    params = {"title": "Débats", "release": "r1", "documents": 37_304}
    with translation.override("fr"):
        assert f": 37{NBSP}304 documents." in notification_text(Notification.Kind.RELEASED, params)
    with translation.override("en"):
        assert notification_text(Notification.Kind.RELEASED, params) == (
            "Your corpus Débats is in the release r1: 37,304 documents.")
        assert notification_text(Notification.Kind.RELEASED, {**params, "documents": 1}).endswith(": 1 document.")
