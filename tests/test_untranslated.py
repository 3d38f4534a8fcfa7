"""Every word in the reader's language: every page of the site for every
role, and every email a member gets, in French and in English, hold no word
that only the other language has; the French catalogue is whole."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core import mail
from django.test import Client

from .factories import ReviewerFactory, UserFactory
from .site import demo_site, site_pages

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent

# Words that cannot be French, and words that cannot be English (short,
# frequent ones: a missed translation almost always has one of them).
ENGLISH_ONLY = {
    "the", "and", "of", "with", "by", "from", "this", "that", "your", "you", "is", "are", "was", "were", "has",
    "have", "will", "which", "what", "when", "there", "their", "its", "into", "to", "for", "been",
    "yes", "not", "at", "words", "word", "release", "releases", "review", "reviews", "reviewer",
    "reviewers", "first", "previous", "next", "last", "back", "all", "none", "each", "every", "other", "here",
    "sign", "submit", "save", "delete", "download", "closed", "show", "hide", "search", "waiting", "pending",
    "approved", "rejected", "changes", "requested", "status", "license", "files", "share",
    "found", "flag", "flags", "short", "too", "see", "how", "many", "more", "less", "than", "only", "about",
    "language", "languages", "english", "french", "member", "members", "maintainer", "maintainers", "corpora",
    "yet", "comments", "characters", "bytes", "lines", "rows", "left", "out", "ago", "hours",
    "days", "hello", "thanks", "please",
}
FRENCH_ONLY = {
    "le", "la", "les", "des", "une", "avec", "pour", "est", "du", "aux", "dans", "sur", "vous", "votre", "vos",
    "nous", "cette", "ces", "sont", "être", "pas", "qui", "mots", "relecture", "relecteur", "relecteurs",
    "fichiers", "fichier", "langue", "langues", "aucun", "aucune", "mais", "où", "été",
    "oui", "précédent", "suivant", "première", "dernière", "bonjour", "merci", "approuvé", "refusé",
    "caractères", "octets", "lignes", "jours", "heures",
}
# A code shown as it is stored (too_short, queued_for_training), not in words.
RAW_CODE = re.compile(r"^[a-z]+(?:_[a-z]+)+$")
WORD = re.compile(r"[^\W\d_]+")
IDENTIFIER = re.compile(r"[\d/@_.=]")
# A count of five digits or more is grouped (37 304, 37,304).
UNGROUPED = re.compile(r"^\d{5,}$")
# French puts a non-breaking space before these.
FRENCH_COLON_WITHOUT_SPACE = re.compile(r"\w[:;?!](?:\s|$)")

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
# Not words of the page's language: scripts, styles, what is meant to be
# read as it is (code, file names, commands), and what a member typed in a
# box they are editing.
SKIPPED = {"script", "style", "template", "code", "pre", "kbd", "samp", "svg", "textarea"}
SHOWN_ATTRIBUTES = ("placeholder", "title", "aria-label", "alt")


class VisibleText(HTMLParser):
    """The text a reader sees (and hears) in the page's own language:
    without scripts and styles, without code, and without any element
    marked with another language (``lang``: corpus text, members' words)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.language = ""
        self.parts: list[str] = []
        self.skipping: list[str] = []  # the open elements that hide what is inside them
        self.stack: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "html":
            self.language = attributes.get("lang") or ""
            return
        lang = attributes.get("lang")
        skip = tag in SKIPPED or (lang is not None and lang != self.language)
        if not self.skipping and not skip:
            for name in SHOWN_ATTRIBUTES:
                if attributes.get(name):
                    self.parts.append(str(attributes[name]))
            if tag == "input" and attributes.get("type") in {"submit", "button"} and attributes.get("value"):
                self.parts.append(str(attributes["value"]))
        if tag in VOID:
            return
        self.stack.append((tag, skip))
        if skip:
            self.skipping.append(tag)

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching element (HTML lets some end tags out).
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth][0] == tag:
                for _name, skipped in self.stack[depth:]:
                    if skipped:
                        self.skipping.pop()
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        if not self.skipping and data.strip():
            self.parts.append(data)


def visible_text(html: str) -> tuple[str, str]:
    """The page's language and its visible text, one piece a line."""
    parser = VisibleText()
    parser.feed(html)
    return parser.language, "\n".join(" ".join(part.split()) for part in parser.parts)


def foreign_words(text: str, language: str) -> list[str]:
    """What in ``text`` is not in ``language``: words of the other one, codes
    shown raw, and (in French) a colon without its non-breaking space; one
    entry a line."""
    foreign = ENGLISH_ONLY if language == "fr" else FRENCH_ONLY
    found = []
    for line in text.splitlines():
        words = []
        for token in line.split():
            token = token.strip(".,;:!?()[]«»“”\"'’…·")
            if any(UNGROUPED.match(part) for part in re.split(r"[–≥≤<>]", token)):
                words.append(f"{token} (no thousands separator)")
                continue
            if IDENTIFIER.search(token):
                # A file name, an address, a version, a licence's id: not
                # words, but a code in its stored form (too_short) is a miss.
                if RAW_CODE.match(token):
                    words.append(token)
                continue
            # Capitals only: an acronym or a licence's name (CC BY-SA), not a word.
            words += [word for word in WORD.findall(token) if word.lower() in foreign and not word.isupper()]
        if words:
            found.append(f"{', '.join(words)} in {line[:200]!r}")
        if language == "fr":
            # "http://", "12:30" are not prose.
            prose = re.sub(r"\S*(?:https?|mailto):\S*|\d+:\d+", "", line.replace("\u202f", " "))
            if FRENCH_COLON_WITHOUT_SPACE.search(prose):
                found.append(f"no space before the punctuation in {line[:200]!r}")
    return found


def test_the_word_check_finds_what_it_should_and_skips_what_it_should():
    html = (
        '<html lang="fr"><body><p>Les documents <b>of</b> la source</p><script>var the = 1;</script>'
        '<p lang="en">the corpus in English</p><p>Drapeau too_short</p><p>respectés: oui</p>'
        '<input type="submit" value="Save"><br><p>fin <code>the_code</code></p></body></html>'
    )
    language, text = visible_text(html)
    assert language == "fr"
    assert "corpus in English" not in text and "var" not in text and "the_code" not in text
    found = " ".join(foreign_words(text, "fr"))
    assert "of in" in found and "too_short in" in found and "Save in" in found
    assert "space before the punctuation in 'respectés: oui'" in found
    assert foreign_words("Mots : 37 304 · Relecteur « Marie » ? oui", "fr") == []
    assert foreign_words("37304 mots", "fr") != [] and foreign_words("10000–30000", "en") != []
    assert foreign_words("Les mots de la source", "en") != []


def _listed(problems: dict[str, list[str]]) -> str:
    return "\n".join(f"{where}: {what}" for where, found in problems.items() for what in found)


def _pages_in(client: Client, urls: list[str], language: str) -> dict[str, list[str]]:
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    problems = {}
    for url in urls:
        response = client.get(url)
        if response.status_code != 200 or not response["Content-Type"].startswith("text/html"):
            continue
        page_language, text = visible_text(response.content.decode())
        assert page_language == language, url
        if found := foreign_words(text, language):
            problems[url] = found
    return problems


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_page_for_every_role_is_in_the_readers_language(language):
    from contributions.models import User

    site = demo_site()
    # Members' names are theirs, in no language: random ones ("de la Marques") would be flagged.
    User.objects.exclude(pk=site["member"].pk).update(display_name="Camille Martin")
    urls = site_pages(site)
    problems: dict[str, list[str]] = {}
    for role in ["anonymous", "member", "reviewer", "maintainer"]:
        client = Client(raise_request_exception=False)
        if user := site.get(role):
            client.force_login(user)
        for url, found in _pages_in(client, urls, language).items():
            problems[f"{role} {url}"] = found
    assert problems == {}, _listed(problems)


def test_every_french_entry_of_the_catalogue_is_translated():
    catalogue = polib.pofile(str(ROOT / "locale" / "fr" / "LC_MESSAGES" / "django.po"))
    fuzzy = [entry.msgid for entry in catalogue if "fuzzy" in entry.flags and not entry.obsolete]
    missing = [entry.msgid for entry in catalogue.untranslated_entries()]
    assert fuzzy == [] and missing == []


# ---------------------------------------------------------------- emails


def _emails_of_every_kind(member, reviewer) -> None:
    """One email of each kind a member can get, to ``member`` (and the
    digest to ``reviewer``)."""
    from contributions import notifications
    from contributions.models import AbuseReport, Corpus, CorpusStatus, Decision, Role

    corpus = Corpus.objects.create(
        submitter=member, submitter_pseudonym=member.pseudonym, title="Procès-verbaux", description="x",
        languages=["fr"], license="etalab-2.0", domain="other", status=CorpusStatus.AWAITING_REVIEW,
    )
    K = notifications.K
    for decision in Decision.values:
        for settled in (True, False):
            notifications.notify(users=[member], corpus=corpus, kind=K.DECISION, params={
                "title": corpus.title, "decision": decision, "status": CorpusStatus.APPROVED, "settled": settled,
                "comment": ""})
    everything = {
        K.COMMENT: {"author": "relecteur-1", "title": corpus.title, "body": "Merci."},
        K.RELEASED: {"title": corpus.title, "release": "demo-1", "documents": 1},
        K.UNPUBLISHED: {"title": corpus.title, "reason": AbuseReport.Reason.values[0], "comment": ""},
        K.SUSPENDED: {"reason": "spam"},
        K.REINSTATED: {},
        K.ROLE_CHANGED: {"role": Role.REVIEWER, "old": Role.MEMBER},
        K.REMOVAL_OUTCOME: {"accepted": True, "documents": 1},
    }
    for kind, params in everything.items():
        notifications.notify(users=[member], corpus=corpus, kind=kind, params=params, suspended_too=True)
    notifications.notify(users=[member], kind=K.RELEASED, params={"title": "x", "release": "demo-2", "documents": 2})
    notifications.notify(users=[member], kind=K.REMOVAL_OUTCOME, params={"accepted": False, "documents": 0})
    notifications.review_digest_send()


def _sent_to(address: str) -> list[tuple[str, str]]:
    from contributions.models import OutgoingEmail

    return [(row.subject, row.body_text) for row in OutgoingEmail.objects.filter(to=address).order_by("id")]


@pytest.mark.parametrize("language", ["fr", "en"])
def test_every_email_is_in_the_members_language(language):
    other = "en" if language == "fr" else "fr"
    member = UserFactory(language=language, review_digest=False, display_name="Alex Martin")
    reviewer = ReviewerFactory(language=language, display_name="Sam Durand")
    # The site is read in the other language when the emails go out.
    from django.utils import translation

    with translation.override(other):
        _emails_of_every_kind(member, reviewer)
    sent = _sent_to(member.email) + _sent_to(reviewer.email)
    assert len(sent) >= 12
    problems = []
    for subject, body in sent:
        # The corpus's title and the comment are the member's own words.
        text = "\n".join([subject, body]).replace("Procès-verbaux", "").replace("Merci.", "")
        text = re.sub(r"https?://\S+", "", text)
        problems += foreign_words(text, language)
    assert problems == [], "\n".join(problems)
    assert mail.outbox == []  # all through the worker's queue


def test_the_admin_speaks_french_to_maintainers():
    """The Django admin's index and each list: the app's, the models' and
    the columns' names are in French."""
    from django.contrib import admin

    from .factories import MaintainerFactory

    client = Client()
    client.force_login(MaintainerFactory())
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    urls = ["/admin/"] + [
        f"/admin/{model._meta.app_label}/{model._meta.model_name}/" for model in admin.site._registry
        if model._meta.app_label == "contributions"
    ]
    problems = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        language, text = visible_text(response.content.decode())
        # Django's own search icon says alt="Search" in every language.
        if found := [f for f in foreign_words(text, language) if f != "Search in 'Search'"]:
            problems[url] = found
    assert problems == {}, _listed(problems)


def test_every_language_the_analysis_can_find_has_a_name_in_both_languages():
    from django.utils import translation

    from contributions.analysis.text import _language_model
    from contributions.languages import DETECTED, language_label
    from contributions.templatetags.openllm import language_name

    labels = _language_model().f.predict("x\n", -1, -1.0, "strict")
    assert set(DETECTED) == {label.removeprefix("__label__") for _score, label in labels}
    for language in ("fr", "en"):
        with translation.override(language):
            assert [code for code in [*DETECTED, "und"] if language_label(code) == code] == []
    with translation.override("fr"):
        assert language_name("sh") == "Serbo-croate (sh)" and language_name("sr") == "Serbe (sr)"
        assert language_name("no") == "Norvégien (no)" and language_name("und") == "Indéterminée (und)"
        assert language_name("xx") == "xx"
    with translation.override("en"):
        assert language_name("sh") == "Serbo-Croatian (sh)"
