"""The review workbench in a real browser: a review done with the keyboard
only, and a claim seen by a second reviewer without reloading."""

from __future__ import annotations

import re

import pytest

from contributions.models import Corpus, Exclusion, Review

from .corpora import FRENCH, analysed, jsonl
from .factories import ReviewerFactory, UserFactory
from .test_browser import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _waiting(member, title: str) -> Corpus:
    corpus, _run = analysed(member, [("conseil.jsonl", jsonl(*FRENCH))], title=title)
    return corpus


def _focused(page) -> str:
    return page.evaluate(
        "(() => { const a = document.activeElement;"
        " return (a.id || '') + '|' + (a.getAttribute('aria-labelledby') || '') + '|' + a.textContent.trim() })()"
    )


def test_a_review_done_with_the_keyboard_only_from_the_queue_to_the_next_corpus(page):
    member = UserFactory()
    first, second = _waiting(member, "Procès-verbaux"), _waiting(member, "Délibérations")
    reviewer = ReviewerFactory()
    sign_in(page, reviewer)
    page.goto("/review/")

    # From the top of the queue, Tab to the link to the first corpus, then Enter.
    for _ in range(60):
        page.keyboard.press("Tab")
        if "Commencer par le corpus suivant" in _focused(page):
            break
    else:
        pytest.fail("the queue's first corpus cannot be reached with Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/review/{first.pk}/")

    # j / k move from document to document.
    page.keyboard.press("j")
    assert _focused(page).startswith("document-0|doc-0|")
    page.keyboard.press("j")
    assert _focused(page).startswith("document-1|doc-1|")
    page.keyboard.press("k")
    assert _focused(page).startswith("document-0|doc-0|")
    # x excludes the current one.
    page.keyboard.press("x")
    page.wait_for_load_state()
    page.locator("article.document.excluded").first.wait_for()
    assert list(Exclusion.objects.filter(corpus=first).values_list("value", flat=True)) == ["0"]
    # The keyboard goes on from the document just excluded.
    assert _focused(page).startswith("document-0|doc-0|")
    page.keyboard.press("j")
    assert _focused(page).startswith("document-1|doc-1|")

    # a chooses "Approve" and puts the focus on the button; Enter records it.
    page.keyboard.press("a")
    assert page.get_by_label("Approuver").is_checked()
    assert _focused(page).startswith("record-decision|")
    page.keyboard.press("Enter")
    # On to the next corpus of the queue.
    page.wait_for_url(f"**/review/{second.pk}/")
    message = page.locator(".message").first.inner_text()
    assert "Décision enregistrée" in message and "Procès-verbaux" in message
    assert Review.objects.get(corpus=first).decision == "approve"

    # c chooses "Request changes" and puts the focus in the comment, where the reason is typed.
    page.keyboard.press("c")
    assert page.get_by_label("Demander des modifications").is_checked()
    page.keyboard.type("Le fichier contient des menus de navigation.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/review/$"))
    assert Review.objects.get(corpus=second).comment == "Le fichier contient des menus de navigation."


def test_a_claim_is_seen_by_a_second_reviewer_without_reloading(browser, live_server):
    member = UserFactory()
    corpus = _waiting(member, "Procès-verbaux")
    first = ReviewerFactory(display_name="Alice Relectrice", public_profile=True)
    second = ReviewerFactory()
    contexts = [browser.new_context(base_url=live_server.url, locale="fr-FR") for _ in range(2)]
    try:
        alice, bob = (context.new_page() for context in contexts)
        for page, user in [(alice, first), (bob, second)]:
            page.set_default_timeout(20_000)
            sign_in(page, user)
            page.goto(f"/review/{corpus.pk}/")
        bob.evaluate("window.notReloaded = true")

        alice.get_by_role("button", name="Je relis ce corpus").click()
        assert alice.get_by_text("Vous relisez ce corpus").is_visible()
        # Bob's open page shows it in place.
        bob.get_by_text("Alice Relectrice relit ce corpus").wait_for()
        assert bob.evaluate("window.notReloaded") is True

        # His queue can leave it out.
        bob.goto("/review/?hide_claimed=1")
        assert bob.get_by_role("link", name="Procès-verbaux").count() == 0
        bob.goto("/review/")
        assert bob.get_by_role("link", name="Procès-verbaux").count() == 1
        assert bob.get_by_role("cell", name=re.compile("Alice Relectrice")).is_visible()
    finally:
        for context in contexts:
            context.close()


def test_the_single_key_shortcuts_can_be_turned_off_and_stay_off(page):
    corpus = _waiting(UserFactory(), "Procès-verbaux")
    sign_in(page, ReviewerFactory())
    page.goto(f"/review/{corpus.pk}/")
    page.keyboard.press("?")
    switch = page.get_by_label(re.compile("Utiliser ces raccourcis"))
    assert switch.is_checked()
    switch.uncheck()
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("j")
    assert not _focused(page).startswith("document-")
    page.reload()
    page.keyboard.press("j")
    assert not _focused(page).startswith("document-")
    page.locator("#shortcuts summary").click()
    page.get_by_label(re.compile("Utiliser ces raccourcis")).check()
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("j")
    assert _focused(page).startswith("document-0|")
