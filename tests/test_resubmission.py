"""The documents that changed between two analysed versions of a corpus, as
reviewers see them when it comes back after a request for changes."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from contributions import resubmission, review, submissions
from contributions.models import Decision

from .corpora import FRENCH, add_file, analysed, analysis_finished, jsonl
from .factories import ReviewerFactory, UserFactory, signed_in

UNCHANGED = FRENCH[0]
REMOVED = FRENCH[1]
EMAIL_BEFORE = FRENCH[2]
EMAIL_AFTER = FRENCH[2] + " Pour toute question, écrivez à <jeanne.martin@exemple.fr> avant la réunion."
WORD_BEFORE = (
    "La salle des fêtes accueillera le <b>concert</b> de printemps le samedi soir, avec la chorale municipale "
    "et l'harmonie de la ville, puis un bal populaire ouvert à tous les habitants du quartier."
)
WORD_AFTER = WORD_BEFORE.replace("printemps", "automne")
LAST = (
    "Le marché couvert ouvrira ses portes plus tôt le dimanche matin, à la demande des commerçants et des "
    "habitants, dès la fin des travaux de la halle prévue pour la rentrée."
)
ADDED = (
    "Un nouveau document ajouté dans la seconde version, au sujet du vide-grenier annuel organisé par "
    "l'association des parents d'élèves dans la cour de l'école. <script>alert('vide-grenier')</script>"
)
ANNEX = (
    "Annexe : liste des délibérations adoptées à l'unanimité lors de la séance du conseil municipal, "
    "avec le détail des votes et des abstentions."
)


def resubmitted(member, reviewer):
    """Version 1 analysed, changes requested, then version 2 analysed: in
    conseil.jsonl one document removed, one with a word replaced (behind the
    removed one: every line after it shifted), one with an email address
    added, one added at the end; annexe.jsonl renamed."""
    corpus, _run = analysed(member, [
        ("conseil.jsonl", jsonl(UNCHANGED, REMOVED, WORD_BEFORE, EMAIL_BEFORE, LAST)),
        ("annexe.jsonl", jsonl(ANNEX)),
    ])
    review.review_decide(corpus=corpus, reviewer=reviewer, decision=Decision.REQUEST_CHANGES,
                         comment="Retirez le document sur la bibliothèque.")
    for stored in list(corpus.files.all()):
        submissions.corpus_file_remove(corpus=corpus, actor=member, corpus_file=stored)
    add_file(corpus, "conseil.jsonl", jsonl(UNCHANGED, WORD_AFTER, EMAIL_AFTER, LAST, ADDED))
    add_file(corpus, "annexe-2025.jsonl", jsonl(ANNEX))
    run = submissions.corpus_submit(corpus=corpus, actor=member)
    analysis_finished(run.id)
    corpus.refresh_from_db()
    assert corpus.version == 2
    return corpus


@pytest.fixture
def corpus(member, reviewer):
    return resubmitted(member, reviewer)


def test_the_diff_lists_exactly_the_changed_removed_and_added_documents(corpus):
    diff = resubmission.corpus_version_diff(corpus=corpus, from_version=1, to_version=2)
    assert diff.counts == {"changed": 2, "removed": 1, "added": 1}
    # The first, the last of conseil.jsonl and the renamed annex.
    assert diff.unchanged == 3 and diff.moved == 1
    assert diff.moves == [("annexe.jsonl", "annexe-2025.jsonl", 1)]
    assert (diff.documents_before, diff.documents_after) == (6, 6)
    rows = diff.page.object_list
    assert [(r["kind"], r["old"] and r["old"]["doc_index"], r["new"] and r["new"]["doc_index"]) for r in rows] == [
        ("changed", 2, 1), ("changed", 3, 2), ("removed", 1, None), ("added", None, 4),
    ]
    word, email = rows[0], rows[1]
    assert {"tag": "del", "text": "printemps"} in word["diff"].segments
    assert {"tag": "ins", "text": "automne"} in word["diff"].segments
    assert word["personal_data"] == []
    assert email["personal_data"] == [("email", 0, 1)]
    assert dict((k, (a, b)) for k, a, b, _c in diff.personal_data)["email"] == (0, 1)
    assert rows[2]["preview"] == REMOVED and rows[3]["preview"] == ADDED


def test_a_repeated_text_does_not_hide_a_change_next_to_it(member, reviewer):
    """The copies of a repeated text pair in order, and one copy removed
    shifts them: a change beside them is still a change."""
    repeated = "Séance levée à vingt-deux heures, le secrétaire de séance signe le procès-verbal."
    corpus, _run = analysed(member, [("pv.jsonl", jsonl(UNCHANGED, repeated, WORD_BEFORE, repeated, LAST))])
    review.review_decide(corpus=corpus, reviewer=reviewer, decision=Decision.REQUEST_CHANGES, comment="Doublon.")
    submissions.corpus_file_remove(corpus=corpus, actor=member, corpus_file=corpus.files.get())
    add_file(corpus, "pv.jsonl", jsonl(UNCHANGED, WORD_AFTER, repeated, LAST))
    analysis_finished(submissions.corpus_submit(corpus=corpus, actor=member).id)
    diff = resubmission.corpus_version_diff(corpus=corpus, from_version=1, to_version=2)
    assert diff.counts == {"changed": 1, "removed": 1, "added": 0}
    changed, removed = diff.page.object_list
    assert (changed["old"]["doc_index"], changed["new"]["doc_index"]) == (2, 1)
    # Which of two identical copies went is the same thing.
    assert removed["kind"] == "removed" and removed["old"]["doc_index"] in {1, 3}


def test_a_reviewer_sees_the_word_diff_and_the_finding_change(client, corpus):
    signed_in(client, ReviewerFactory())
    response = client.get(reverse("contributions:review_changes", args=[corpus.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r"<del>printemps</del>(<span[^>]*>[^<]*</span>)*<ins>automne</ins>", html)
    # Corpus text is untrusted: escaped, in the diff (unchanged and added
    # words) as in the beginning of an added document.
    assert "&lt;b&gt;concert&lt;/b&gt;" in html and "<b>concert</b>" not in html
    assert "&lt;jeanne.martin@exemple.fr&gt;" in html and "<jeanne.martin" not in html
    assert "&lt;script&gt;alert(" in html and "<script>alert(" not in html
    assert re.search(r"Une adresse e-mail\s*:\s*0 → 1 occurrence", html)
    assert REMOVED[:40] in html and ADDED[:40] in html
    # Unchanged documents are not listed.
    assert UNCHANGED[:40] not in html and LAST[:40] not in html and ANNEX[:40] not in html
    assert "annexe.jsonl" in html and "annexe-2025.jsonl" in html


def test_a_page_whose_word_diffs_take_too_long_lists_the_rest_without_them(client, corpus, monkeypatch):
    from contributions import resubmission

    # A submitter's texts can make each word diff slow: the page has a time for them all.
    monkeypatch.setattr(resubmission, "DIFF_PAGE_SECONDS", -1.0)
    signed_in(client, ReviewerFactory())
    html = client.get(reverse("contributions:review_changes", args=[corpus.pk])).content.decode()
    assert "Pas comparé ici" in html and "<del>printemps</del>" not in html
    assert REMOVED[:40] in html and ADDED[:40] in html


def test_the_versions_and_the_kind_can_be_chosen(client, corpus):
    signed_in(client, ReviewerFactory())
    url = reverse("contributions:review_changes", args=[corpus.pk])
    response = client.get(url, {"from": "1", "to": "2", "kind": "removed"})
    assert response.status_code == 200
    html = response.content.decode()
    assert REMOVED[:40] in html and ADDED[:40] not in html and "<del>" not in html


def test_the_changes_are_paginated(client, corpus, monkeypatch):
    monkeypatch.setattr(resubmission, "PER_PAGE", 3)
    signed_in(client, ReviewerFactory())
    url = reverse("contributions:review_changes", args=[corpus.pk])
    html = client.get(url, {"from": "1", "to": "2", "page": "2"}).content.decode()
    # Changed documents first, then removed, then added: the last one alone.
    assert ADDED[:40] in html and REMOVED[:40] not in html and "<del>" not in html
    assert "Page 2 sur 2" in html and "from=1&amp;to=2&amp;page=1" in html


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"from": "7"}, "La version 7 de ce corpus n’a pas d’analyse terminée."),
        ({"to": "abc"}, "«\u00a0abc\u00a0» n’est pas un numéro de version."),
        ({"from": "2", "to": "2"}, "Choisissez deux versions différentes."),
        ({"to": "1"}, "Aucune version analysée ne précède la version 1."),
        ({"from": "²"}, "n’est pas un numéro de version."),
    ],
)
def test_a_bad_version_is_a_clear_404(client, corpus, params, message):
    signed_in(client, ReviewerFactory())
    response = client.get(reverse("contributions:review_changes", args=[corpus.pk]), params)
    assert response.status_code == 404
    assert message in response.content.decode()


def test_with_one_analysed_version_there_is_nothing_to_compare(client, member):
    corpus, _run = analysed(member, [("a.jsonl", jsonl(*FRENCH))])
    signed_in(client, ReviewerFactory())
    response = client.get(reverse("contributions:review_changes", args=[corpus.pk]))
    assert response.status_code == 200
    assert "rien à comparer" in response.content.decode()


def test_members_and_the_submitter_get_403(client, corpus, member):
    url = reverse("contributions:review_changes", args=[corpus.pk])
    signed_in(client, UserFactory())
    assert client.get(url).status_code == 403
    client.logout()
    signed_in(client, member)
    assert client.get(url).status_code == 403


def test_a_page_comes_from_the_cache_the_second_time(client, corpus, monkeypatch):
    first = resubmission.corpus_version_diff(corpus=corpus, from_version=1, to_version=2)

    def no_session(**kwargs):
        raise AssertionError("the comparison ran again")

    monkeypatch.setattr(resubmission.explorer, "session", no_session)
    again = resubmission.corpus_version_diff(corpus=corpus, from_version=1, to_version=2)
    assert again.counts == first.counts and again.page.object_list == first.page.object_list


def test_unreadable_shards_say_so_instead_of_failing(client, corpus):
    from django.core.files.storage import default_storage

    for run in corpus.analyses.all():
        for name in run.shards:
            default_storage.delete(name)
    signed_in(client, ReviewerFactory())
    response = client.get(reverse("contributions:review_changes", args=[corpus.pk]))
    assert response.status_code == 200
    assert "n’ont pas pu être lus" in response.content.decode()


def test_the_word_diff_keeps_context_around_a_change_and_cuts_long_texts():
    words = [f"mot{i}" for i in range(200)]
    diff = resubmission.text_word_diff(old=" ".join(words), new=" ".join([*words[:100], "nouveau", *words[101:]]))
    tags = [segment["tag"] for segment in diff.segments]
    assert tags == ["gap", "equal", "del", "ins", "equal", "gap"]
    assert diff.segments[0]["count"] == 100 - resubmission.CONTEXT_WORDS
    long = resubmission.text_word_diff(old="a " * 10, new="b " * 2000, shown=50)
    assert long.truncated and sum(len(s.get("text", "").split()) for s in long.segments) <= 61


def test_the_word_diff_keeps_spacing_outside_the_marks():
    diff = resubmission.text_word_diff(old="un deux\ntrois", new="un DEUX\ntrois")
    assert diff.segments == [
        {"tag": "equal", "text": "un "}, {"tag": "del", "text": "deux"}, {"tag": "ins", "text": "DEUX"},
        {"tag": "equal", "text": "\ntrois"},
    ]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reviewer_opens_the_changes_in_the_browser(browser, live_server):
    from .test_browser import phone, sign_in

    member, reviewer = UserFactory(), ReviewerFactory()
    corpus = resubmitted(member, reviewer)
    with phone(browser, live_server) as page:
        sign_in(page, reviewer)
        page.goto(reverse("contributions:review_changes", args=[corpus.pk]))
        assert page.get_by_role("heading", name="Changements de la version 1 à la version 2").is_visible()
        assert page.locator("del", has_text="printemps").is_visible()
        assert page.locator("ins", has_text="automne").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
