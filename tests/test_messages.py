"""What the analysis says (records skipped, why it failed) is stored as a code
with its parameters and read in the reader's language: the pages, the live
progress and the API say it in French or English, never with a Python
library's English inside a French sentence."""

from __future__ import annotations

import json

import orjson
import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from contributions import tokens
from contributions.analysis.formats import json_error
from contributions.models import AnalysisRun, CorpusStatus, JobStatus
from contributions.texts import message, message_dump, message_render, words_dump

from .corpora import analysed

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"
# A line without text, then a line cut in the middle of a string.
BROKEN = b'{"title": "sans texte"}\n{"text": "Bonjour\n'


def failed_corpus(member):
    corpus, run = analysed(member, [("a.jsonl", BROKEN)])
    assert run.status == JobStatus.FAILED and corpus.status == CorpusStatus.FAILED
    return corpus


def corpus_page(client, corpus, **headers) -> str:
    response = client.get(reverse("contributions:corpus_detail", args=[corpus.pk]), **headers)
    assert response.status_code == 200
    return response.content.decode()


def test_a_failed_analysis_is_told_in_french_on_the_french_page(client, member):
    corpus = failed_corpus(member)
    client.force_login(member)
    html = corpus_page(client, corpus)
    assert "aucun document utilisable dans les fichiers</p>" in html
    assert f"<code>a.jsonl, ligne 1</code>{NBSP}: pas de champ «{NBSP}text{NBSP}» contenant une chaîne" in html
    broken = f"JSON invalide à la colonne 18{NBSP}: fin des données inattendue"
    assert f"<code>a.jsonl, ligne 2</code>{NBSP}: {broken}" in html
    # Nothing of what the parser said in its own words.
    for english in ("unexpected", "end of data", "column 18", "char 17", "no usable", "invalid JSON"):
        assert english not in html


@pytest.mark.parametrize("how", ["header", "cookie"])
def test_the_same_failure_is_told_in_english_to_an_english_reader(client, member, how):
    corpus = failed_corpus(member)
    client.force_login(member)
    if how == "cookie":
        client.cookies["django_language"] = "en"
        html = corpus_page(client, corpus)
    else:
        html = corpus_page(client, corpus, HTTP_ACCEPT_LANGUAGE="en")
    assert "The analysis failed: no usable document in the files" in html
    assert '<code>a.jsonl, line 1</code>: no &quot;text&quot; field with a string' in html
    assert "<code>a.jsonl, line 2</code>: invalid JSON at column 18: unexpected end of data" in html
    assert "fin des données" not in html and "aucun document" not in html


def test_the_live_progress_says_the_reason_in_the_readers_language(client, member):
    corpus = failed_corpus(member)
    client.force_login(member)
    url = reverse("contributions:corpus_progress", args=[corpus.pk])
    french = client.get(url).json()
    assert french["analysis"]["error"] == "aucun document utilisable dans les fichiers"
    assert f"JSON invalide à la colonne 18{NBSP}: fin des données inattendue" in french["parts"]["analysis"]
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["analysis"]["error"] == "no usable document in the files"
    assert "invalid JSON at column 18: unexpected end of data" in english["parts"]["analysis"]


def test_the_api_says_the_reason_in_the_callers_language(member):
    corpus = failed_corpus(member)
    _token, key = tokens.token_create(user=member, name="script", days=30)
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    url = f"/api/v1/corpora/{corpus.pk}/status/"
    assert client.get(url).json()["analysis"]["error"] == "aucun document utilisable dans les fichiers"
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en").json()
    assert english["analysis"]["error"] == "no usable document in the files"


def test_the_api_report_lists_problems_in_the_callers_language_with_their_code(member):
    corpus, run = analysed(member, [("a.jsonl", b'{"text": "Un document."}\n' + BROKEN)])
    assert run.status == JobStatus.DONE
    _token, key = tokens.token_create(user=member, name="script", days=30)
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    url = f"/api/v1/corpora/{corpus.pk}/status/"
    problems = client.get(url, HTTP_ACCEPT_LANGUAGE="en").json()["analysis"]["report"]["problems"]
    assert problems == [
        {"source": "a.jsonl", "line": 2, "message": 'no "text" field with a string', "code": "json.no_text"},
        {"source": "a.jsonl", "line": 3, "message": "invalid JSON at column 18: unexpected end of data",
         "code": "json.invalid"},
    ]
    french = client.get(url).json()["analysis"]["report"]["problems"]
    assert french[1]["message"] == f"JSON invalide à la colonne 18{NBSP}: fin des données inattendue"


def test_the_report_of_a_finished_analysis_lists_problems_in_the_readers_language(client, member):
    corpus, run = analysed(member, [("a.jsonl", b'{"text": "Un document."}\n' + BROKEN)])
    assert run.status == JobStatus.DONE
    client.force_login(member)
    french = corpus_page(client, corpus)
    broken = f"JSON invalide à la colonne 18{NBSP}: fin des données inattendue"
    assert f"<code>a.jsonl, ligne 3</code>{NBSP}: {broken}" in french
    # The report's rendering is kept in the cache once per language.
    english = corpus_page(client, corpus, HTTP_ACCEPT_LANGUAGE="en")
    assert "<code>a.jsonl, line 3</code>: invalid JSON at column 18: unexpected end of data" in english


def test_a_reason_stored_as_plain_text_before_codes_still_shows(client, member):
    corpus = failed_corpus(member)
    corpus.status_reason = "corpus : aucun document utilisable dans les fichiers"
    corpus.save(update_fields=["status_reason"])
    run = AnalysisRun.objects.get(corpus=corpus)
    report = {**run.report, "problems": [{"source": "a.jsonl", "line": 2, "message": "JSON invalide (ancien)"}]}
    AnalysisRun.objects.filter(pk=run.pk).update(report=report, error="ancienne erreur")
    client.force_login(member)
    html = corpus_page(client, corpus)
    assert "corpus : aucun document utilisable dans les fichiers</p>" in html
    assert f"<code>a.jsonl, ligne 2</code>{NBSP}: JSON invalide (ancien)" in html
    progress = client.get(reverse("contributions:corpus_progress", args=[corpus.pk])).json()
    assert progress["analysis"]["error"] == "ancienne erreur"


def test_an_unknown_code_is_shown_plainly_not_an_error(client, member):
    corpus = failed_corpus(member)
    corpus.status_reason = message_dump(message("format.gone_in_a_later_version", line=3))
    corpus.save(update_fields=["status_reason"])
    client.force_login(member)
    html = corpus_page(client, corpus)
    assert "format.gone_in_a_later_version (line: 3)" in html
    # A known code with parameters it does not expect, text that only looks
    # like a message, a message without parameters: never a 500.
    assert message_render({"code": "csv.columns", "params": {"found": "x"}}) == "csv.columns (found: x)"
    assert message_render('{"code": 3}') == '{"code": 3}'
    assert message_render('{"code":"json.no_text"') == '{"code":"json.no_text"'
    with translation.override("en"):
        assert message_render({"code": "json.no_text"}) == 'no "text" field with a string'
    assert message_render(None) == ""


@pytest.mark.parametrize(
    ("text", "french", "english"),
    [
        ('{"a": 1', "une virgule (,) ou la fin de l’objet ou de la liste est attendue",
         "a comma (,) or the end of the object or list is expected"),
        ("", "une valeur est attendue", "a value is expected"),
        ('{"a": 1} x', "du contenu suit la fin de l’objet", "more content after the end of the object"),
        ('{"a": "b\x01"}', "un caractère de contrôle dans une chaîne", "a control character inside a string"),
        ('{"a": "b', "une chaîne n’est pas fermée", "a string is not closed"),
        ("{a: 1}", "une clé entre guillemets doubles est attendue", "a key in double quotes is expected"),
    ],
)
def test_what_the_json_parser_says_is_put_in_the_readers_words(text, french, english):
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        said = json_error(exc)
        column = exc.colno
    with translation.override("fr"):
        assert message_render(said) == f"JSON invalide à la colonne {column}{NBSP}: {french}"
    with translation.override("en"):
        assert message_render(said) == f"invalid JSON at column {column}: {english}"


def test_orjson_errors_are_named_too():
    with pytest.raises(orjson.JSONDecodeError) as caught:
        orjson.loads('{"text": "Bonjour')
    with translation.override("fr"):
        assert message_render(json_error(caught.value)) == (
            f"JSON invalide à la colonne 18{NBSP}: fin des données inattendue"
        )
    with pytest.raises(orjson.JSONDecodeError) as caught:
        orjson.loads('{"text": 1e999999}')
    with translation.override("en"):
        assert message_render(json_error(caught.value)) == "invalid JSON at column 10: a number too large"


def test_numbers_are_grouped_and_words_agree_with_them():
    with translation.override("fr"):
        assert message_render(message("document.too_long", limit=10_000_000)) == (
            f"document de plus de 10{NBSP}000{NBSP}000 caractères{NBSP}: ignoré"
        )
        assert message_render(message("csv.columns", found=1, expected=2)) == (
            f"1 colonne alors que l’en-tête en a 2{NBSP}: ignorée"
        )
    with translation.override("en"):
        assert message_render(message("document.too_long", limit=10_000_000)) == (
            "document longer than 10,000,000 characters: skipped"
        )
        assert message_render(message("csv.columns", found=3, expected=2)) == (
            "3 columns where the header has 2: skipped"
        )


def test_a_library_detail_is_for_maintainers_only():
    stored = message_dump(message("job.internal_error", detail="OSError"))
    with translation.override("fr"):
        assert message_render(stored) == f"erreur interne{NBSP}; les mainteneurs ont les détails"
        assert message_render(stored, technical=True) == (
            f"erreur interne{NBSP}; les mainteneurs ont les détails (détail technique{NBSP}: OSError)"
        )


def test_a_stored_reason_fits_its_field_however_long_its_parameters():
    stored = message_dump(message("problem.line", source="a.csv", line=1, message=message(
        "csv.no_column", column="x" * 5000, columns=", ".join(["colonne"] * 2000))))
    assert len(stored) < 5000
    with translation.override("en"):
        assert message_render(stored).startswith('a.csv, line 1: no column "xxx')


def test_why_a_corpus_was_unpublished_is_told_in_the_readers_language(client, member):
    from contributions import lifecycle, moderation
    from contributions.models import AbuseReport

    from .factories import MaintainerFactory

    corpus, _run = analysed(member, [("a.jsonl", orjson.dumps({"text": "Le conseil municipal s'est réuni."}))])
    lifecycle.corpus_transition(corpus_id=corpus.id, to=CorpusStatus.APPROVED)
    report = moderation.abuse_report(reporter=member, corpus=corpus, reason=AbuseReport.Reason.COPYRIGHT)
    with translation.override("en"):  # the maintainer reads English; the submitter, French
        moderation.abuse_resolve(report=report, maintainer=MaintainerFactory(), action="unpublish",
                                 comment="Extraits d'un livre.")
    client.force_login(member)
    french = corpus_page(client, corpus)
    assert "Dépublié après un signalement (Droit d&#x27;auteur). Extraits d&#x27;un livre." in french
    english = corpus_page(client, corpus, HTTP_ACCEPT_LANGUAGE="en")
    assert "Unpublished after a report (Copyright). Extraits d&#x27;un livre." in english


def test_json_nested_beyond_the_parser_renders_as_text_not_an_error():
    nested = '{"code":"x","params":{"a":' + "[" * 5000 + "]" * 5000 + "}}"
    assert message_render(nested) == nested


def test_a_reviewer_comment_that_looks_like_a_stored_message_is_shown_as_written(client, member):
    from contributions import review

    from .factories import ReviewerFactory

    corpus, _run = analysed(member, [("a.jsonl", orjson.dumps({"text": "Le conseil municipal s'est réuni."}))])
    words = '{"code":"corpus.files_changed","params":{}}'
    review.review_decide(corpus=corpus, reviewer=ReviewerFactory(), decision="request_changes", comment=words)
    client.force_login(member)
    html = corpus_page(client, corpus)
    assert html.count("{&quot;code&quot;:&quot;corpus.files_changed&quot;,&quot;params&quot;:{}}") >= 2
    assert "Fichiers modifiés" not in html
    assert message_render(words_dump(words)) == words
