"""The analysis, run in this process through the same domain function the
worker calls (tests/test_worker.py runs it through a real worker)."""

from __future__ import annotations

import codecs
import io
import tarfile
import unicodedata

import pytest
from django.urls import reverse
from django.utils import translation

from contributions.analysis.text import detect_language, find_personal_data, normalize, quality_signals
from contributions.models import CorpusStatus, DocumentFingerprint, JobStatus
from contributions.texts import message_render

from .corpora import FRENCH, analysed, jsonl, near_duplicates, parquet, shard_rows, tar_gz_of, zip_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # Messages are stored as codes and read in the active language: these
    # tests read them in English.
    with translation.override("en"):
        yield


def said(value) -> str:
    """A stored message (a problem's, a run's error, a corpus's reason) as
    a reader of the active language reads it."""
    return message_render(value)


LONG_FRENCH = " ".join(FRENCH * 3)


def texts(run) -> list[str]:
    return [row["text"] for row in sorted(shard_rows(run), key=lambda r: r["doc_index"])]


# ---------------------------------------------------------------- formats


def test_txt_is_one_document_per_file(member):
    corpus, run = analysed(member, [("a.txt", "Premier paragraphe.\n\nSecond paragraphe.\n")])
    assert run.status == JobStatus.DONE and corpus.status == CorpusStatus.AWAITING_REVIEW
    assert texts(run) == ["Premier paragraphe.\n\nSecond paragraphe."]


def test_txt_split_on_blank_lines_keeps_line_numbers(member):
    _corpus, run = analysed(member, [("a.md", "Un.\nsuite\n\n\nDeux.\n\nTrois.", {"split": "blank_lines"})])
    rows = sorted(shard_rows(run), key=lambda r: r["doc_index"])
    assert [(r["text"], r["line"]) for r in rows] == [("Un.\nsuite", 1), ("Deux.", 5), ("Trois.", 7)]


def test_txt_split_on_a_separator(member):
    content = "Un.\n===\nDeux.\n===\n\n===\nTrois."
    _corpus, run = analysed(member, [("a.txt", content, {"split": "separator", "separator": "==="})])
    assert texts(run) == ["Un.", "Deux.", "Trois."]


def test_jsonl_keeps_other_fields_as_metadata(member):
    _corpus, run = analysed(member, [("a.jsonl", jsonl(FRENCH[0], url="https://example.org/1", year=2020))])
    [row] = shard_rows(run)
    assert row["text"] == FRENCH[0]
    assert row["meta"] == '{"url":"https://example.org/1","year":2020}'


def test_csv_and_tsv_take_the_chosen_column(member):
    csv_content = 'id,contenu\n1,"Une ligne, avec virgule\net saut de ligne"\n2,Deux\n'
    tsv_content = "contenu\tauteur\nTrois\tAnne\n"
    _corpus, run = analysed(
        member, [("a.csv", csv_content, {"text_column": "contenu"}), ("b.tsv", tsv_content, {"text_column": "contenu"})]
    )
    rows = sorted(shard_rows(run), key=lambda r: r["doc_index"])
    assert [r["text"] for r in rows] == ["Une ligne, avec virgule\net saut de ligne", "Deux", "Trois"]
    assert rows[0]["meta"] == '{"id":"1"}' and rows[2]["meta"] == '{"auteur":"Anne"}'


def test_csv_header_with_a_byte_order_mark(member):
    content = codecs.BOM_UTF8 + "text,id\nBonjour à tous,1\n".encode()
    _corpus, run = analysed(member, [("a.csv", content)])
    assert texts(run) == ["Bonjour à tous"]


def test_parquet_text_column(member):
    _corpus, run = analysed(member, [("a.parquet", parquet(FRENCH, year=[2001, 2002, 2003]))])
    assert texts(run) == FRENCH
    assert shard_rows(run)[0]["meta"] == '{"year":2001}'


def test_zip_and_tar_gz_archives(member):
    zipped = zip_of(
        {"dossier/a.txt": FRENCH[0].encode(), "b.jsonl": jsonl(FRENCH[1]), "c.parquet": parquet([FRENCH[2]])}
    )
    tarred = tar_gz_of([(tarfile.TarInfo("d.txt"), "Quatrième document.".encode())])
    _corpus, run = analysed(member, [("a.zip", zipped), ("b.tar.gz", tarred)])
    assert sorted(texts(run)) == sorted([*FRENCH, "Quatrième document."])
    sources = {row["source"] for row in shard_rows(run)}
    assert sources == {"a.zip/dossier/a.txt", "a.zip/b.jsonl", "a.zip/c.parquet", "b.tar.gz/d.txt"}


# ---------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("encoded", "label"),
    [
        ("Été brûlant à Noël".encode(), "utf-8"),
        (codecs.BOM_UTF8 + "Été brûlant à Noël".encode(), "utf-8 with BOM"),
        ("Été brûlant à Noël".encode("utf-16"), "utf-16 with BOM"),
        ("Été brûlant à Noël".encode("utf-16-le"), "utf-16 without BOM"),
        ("Été brûlant à Noël – «œuvre»".encode("cp1252"), "cp1252"),
        ("Été brûlant à Noël".encode("latin-1"), "latin-1"),
    ],
)
def test_encodings_are_detected(member, encoded, label):
    _corpus, run = analysed(member, [("a.txt", encoded)])
    assert texts(run)[0].startswith("Été brûlant à Noël"), label


def test_normalisation_repairs_mojibake_nfc_controls_and_line_endings(member):
    decomposed = unicodedata.normalize("NFD", "café")
    content = f"Ã‰tÃ© Ã\xa0 la plage\r\n{decomposed}\x00\x07 fin\rligne".encode()
    _corpus, run = analysed(member, [("a.txt", content)])
    [row] = shard_rows(run)
    assert row["text"] == "Été à la plage\ncafé fin\nligne"
    assert row["mojibake_fixed"] is True
    assert run.report["encoding"]["mojibake_fixed"] == 1


def test_invalid_utf8_is_replaced_and_reported(member):
    # Past the first 64 KiB, which decide the encoding.
    content = "Première ligne correcte et assez longue pour être de l'UTF-8.\n".encode() * 2000 + b"fin \xff\xfe ici\n"
    _corpus, run = analysed(member, [("a.txt", content, {"split": "blank_lines"})])
    assert "\ufffd" in texts(run)[0]
    assert run.report["encoding"]["replacement_characters"] == 1


def test_nul_bytes_never_reach_the_database(member):
    _corpus, run = analysed(member, [("a.jsonl", jsonl("Bonjour\u0000 à\x00 tous", **{"note": "a\u0000b"}))])
    [row] = shard_rows(run)
    assert row["text"] == "Bonjour à tous"
    assert "\x00" not in str(run.report)


# ---------------------------------------------------------------- bad records


def test_malformed_json_lines_are_skipped_with_their_line(member):
    content = jsonl(FRENCH[0]) + b'{"text": broken\n' + b"[1, 2]\n" + b'{"title": "no text"}\n' + jsonl(FRENCH[1])
    corpus, run = analysed(member, [("a.jsonl", content)])
    assert corpus.status == CorpusStatus.AWAITING_REVIEW
    assert texts(run) == FRENCH[:2]
    problems = [(p["source"], p["line"], said(p["message"])) for p in run.report["problems"]]
    assert problems == [
        ("a.jsonl", 2, "invalid JSON at column 10: a value is expected"),
        ("a.jsonl", 3, "a JSON object is expected on each line"),
        ("a.jsonl", 4, 'no "text" field with a string'),
    ]
    assert run.report["files"]["a.jsonl"] == {"documents": 2, "problems": 3}


def test_csv_rows_of_the_wrong_width_are_skipped(member):
    _corpus, run = analysed(member, [("a.csv", "text,id\nBon,1\nMauvais\nEncore bon,3\n")])
    assert texts(run) == ["Bon", "Encore bon"]
    assert [{**p, "message": said(p["message"])} for p in run.report["problems"]] == [
        {"source": "a.csv", "line": 3, "message": "1 column where the header has 2: skipped"}
    ]


def test_a_100_mb_single_line_is_skipped_with_a_message(member):
    content = jsonl(FRENCH[0]) + b'{"text": "' + b"a" * (100 * 1024 * 1024) + b'"}\n' + jsonl(FRENCH[1])
    _corpus, run = analysed(member, [("big.jsonl", content)])
    assert texts(run) == FRENCH[:2]
    [problem] = run.report["problems"]
    assert problem["line"] == 2 and "longer than 10,000,000 characters" in said(problem["message"])


def test_archive_members_that_could_escape_are_never_opened(member):
    def info(name, **fields):
        member_info = tarfile.TarInfo(name)
        for key, value in fields.items():
            setattr(member_info, key, value)
        return member_info

    tarred = tar_gz_of(
        [
            (info("ok.txt"), FRENCH[0].encode()),
            (info("/etc/passwd.txt"), b"root"),
            (info("../evil.txt"), b"outside"),
            (info("link.txt", type=tarfile.SYMTYPE, linkname="/etc/passwd"), None),
            (info("dev.txt", type=tarfile.CHRTYPE, devmajor=1, devminor=3), None),
            (info("inner.zip"), zip_of({"x.txt": b"nested"})),
            (info("image.txt"), b"\x89PNG\r\n\x1a\n" + b"\x00" * 50),
        ]
    )
    corpus, run = analysed(member, [("a.tar.gz", tarred)])
    assert corpus.status == CorpusStatus.AWAITING_REVIEW
    assert texts(run) == [FRENCH[0]]
    messages = {p["source"]: said(p["message"]) for p in run.report["problems"]}
    assert messages["a.tar.gz//etc/passwd.txt"] == "absolute path: not opened"
    assert messages["a.tar.gz/../evil.txt"] == "path goes outside the archive (..): not opened"
    assert messages["a.tar.gz/link.txt"] == "link: not opened"
    assert messages["a.tar.gz/dev.txt"] == "special file: not opened"
    assert messages["a.tar.gz/inner.zip"] == "nested archive: not opened"
    assert "PNG image" in messages["a.tar.gz/image.txt"]


def test_zip_members_with_absolute_or_parent_paths_are_skipped(member):
    zipped = zip_of({"ok.txt": FRENCH[0].encode(), "/abs.txt": b"x", "a/../../up.txt": b"y", "nested.tar.gz": b"z"})
    _corpus, run = analysed(member, [("a.zip", zipped)])
    assert texts(run) == [FRENCH[0]]
    messages = sorted(said(p["message"]) for p in run.report["problems"])
    assert messages == [
        "absolute path: not opened",
        "nested archive: not opened",
        "path goes outside the archive (..): not opened",
    ]


def test_a_corpus_without_any_usable_document_fails_with_the_reason(client, member):
    corpus, run = analysed(member, [("a.jsonl", b'{"title": "x"}\n{"text": "   "}\n')])
    assert run.status == JobStatus.FAILED and corpus.status == CorpusStatus.FAILED
    assert said(corpus.status_reason) == "no usable document in the files"
    assert not run.shards
    # The records that made it so are kept, and shown, with their lines.
    assert [(p["source"], p["line"]) for p in run.report["problems"]] == [("a.jsonl", 1), ("a.jsonl", 2)]
    client.force_login(member)
    html = client.get(reverse("contributions:corpus_detail", args=[corpus.pk])).content.decode()
    assert "a.jsonl, ligne 1" in html.replace("line", "ligne") and "a.jsonl, ligne 2" in html.replace("line", "ligne")


def test_a_failed_analysis_leaves_nothing_behind(member, settings):
    from django.core.files.storage import default_storage

    corpus, run = analysed(member, [("a.txt", FRENCH[0]), ("b.csv", "text\nok\n")])
    # The CSV loses its column after upload (the stored file is replaced):
    # the worker refuses the file and the run fails as a whole.
    stored = corpus.files.get(original_name="b.csv")
    with default_storage.open(stored.file.name, "wb") as handle:
        handle.write(b"autre\nx\n")
    from contributions import submissions

    corpus.status = CorpusStatus.DRAFT
    corpus.save()
    run = submissions.corpus_submit(corpus=corpus, actor=member)
    from contributions.jobs import job_run

    job_run("analysis", run.id)
    run.refresh_from_db()
    corpus.refresh_from_db()
    assert run.status == JobStatus.FAILED and 'b.csv, line 1: no column "text"' in said(run.error)
    assert corpus.status == CorpusStatus.FAILED
    assert not default_storage.exists(f"analysis/{run.id}")


# ---------------------------------------------------------------- signals


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Écrivez à marie.dupont@exemple.fr pour tout renseignement.", [("email", "marie.dupont@exemple.fr")]),
        (
            "Appelez le 06 12 34 56 78 ou le +33 1 42 68 53 00.",
            [("phone", "06 12 34 56 78"), ("phone", "+33 1 42 68 53 00")],
        ),
        ("Tél. 01.42.68.53.01, poste 12.", [("phone", "01.42.68.53.01")]),
        ("Call +44 20 7946 0958 tomorrow.", [("phone", "+44 20 7946 0958")]),
        ("Virement sur FR76 3000 6000 0112 3456 7890 189.", [("iban", "FR76 3000 6000 0112 3456 7890 189")]),
        ("Numéro de sécurité sociale : 1 84 12 76 451 089 46.", [("nir", "1 84 12 76 451 089 46")]),
        ("Carte 4111 1111 1111 1111 expirée.", [("card", "4111 1111 1111 1111")]),
        ("Connexion depuis 82.64.123.45 et 2a01:e0a:1f2:3::5.", [("ip", "82.64.123.45"), ("ip", "2a01:e0a:1f2:3::5")]),
        # An address broken at a hyphen, as man pages and PDFs do.
        ("Écrire à jade.alglave@ens-\n       lyon.org pour", [("email", "jade.alglave@ens-\n       lyon.org")]),
        ("Auteur : jean.du-\n  pont@exemple.fr.", [("email", "jean.du-\n  pont@exemple.fr")]),
        ("Voir a.b@exemple.fr.\nLa suite du texte.", [("email", "a.b@exemple.fr")]),
        # Dotted numbers that identify nobody: private, documentation and
        # reserved ranges, netmasks, references and versions.
        ("Réseau 192.168.10.42, 10.0.0.1, 172.16.5.4 et 2001:db8::1.", []),
        ("Exemples 192.0.2.10, 198.51.100.7 et 203.0.113.200.", []),
        ("Masques 255.0.0.0, 255.255.255.0, 128.0.0.0 et 0.0.0.255.", []),
        ("Voir la RFC 2616 section 8.1.2.2 et le § 10.4.12.3.", []),
        ("Noyau linux-2.6.32.71, version 4.19.260.1 ou v1.22.3.4 et 1.2.33.4rc1.", []),
        ("Multidiffusion 224.0.0.251 et ff02::1.", []),
        # Found in Debian's French man pages: versions after a program's
        # name, networks, a hexadecimal dump, the digits themselves.
        ("Depuis dpkg\xa01.15.7.2 et dpkg 1.4.1.17, réseaux 192.56.76.0, 10.0.0.0/8 et 2002::/16.", []),
        ("Sortie 676520617574686f723a0a2e5c222020202 et la classe [0123456789].", []),
        # Inside an IBAN whose check digits are wrong: neither a card nor a phone.
        ("Compte FR08 2145 8421 0839 4906 6882 811 et FR02 9674 3034 2522 9238 8193 781.", []),
        # Near misses: wrong check digits, dates, amounts, times.
        ("Virement sur FR76 3000 6000 0112 3456 7890 188.", []),
        ("Numéro : 1 84 12 76 451 089 47.", []),
        ("Carte 4111 1111 1111 1112.", []),
        ("Le 12/03/2021 à 14:30:00, 1 200 000 euros, adresse 999.1.1.1.", []),
        ("Article L. 2121-29 du code général des collectivités.", []),
    ],
)
def test_personal_data_detectors(text, expected):
    assert [(item.kind, item.value) for item in find_personal_data(text)] == expected


@pytest.mark.parametrize(
    ("text", "language"),
    [
        (FRENCH[0], "fr"),
        ("The city council met on Tuesday evening to review the budget and the renovation of the school.", "en"),
        ("Der Gemeinderat trat am Dienstagabend zusammen, um den Haushalt und die Renovierung zu prüfen.", "de"),
        ("El ayuntamiento se reunió el martes por la noche para examinar el presupuesto del municipio.", "es"),
        ("Il consiglio comunale si è riunito martedì sera per esaminare il bilancio del comune.", "it"),
        ("LE CONSEIL MUNICIPAL S'EST RÉUNI MARDI SOIR POUR EXAMINER LE BUDGET DE LA COMMUNE.", "fr"),
    ],
)
def test_language_identification(text, language):
    detected = detect_language(text)
    assert detected.code == language and detected.score > 0.5 and detected.share == 1


SYNOPSIS = (
    "NAME\n       tree - list contents of directories in a tree-like format\n\n"
    "SYNOPSIS\n       tree [-acdfghilnpqrstuvxACDFQNSUX] [-L level [-R]] [-H baseHREF] [-T title]"
    " [-o filename] [-P pattern] [-I pattern] [--gitignore]\n\n"
)


def test_a_french_document_opening_with_an_english_synopsis_is_french():
    assert detect_language(SYNOPSIS[:600]).code == "en"  # what the opening alone says
    detected = detect_language(SYNOPSIS + LONG_FRENCH)
    assert detected.code == "fr" and detected.share >= 0.6


def test_a_document_half_in_two_languages_has_no_clear_majority():
    english = " ".join(
        "The library now offers reading workshops for children on Wednesday afternoons, free of charge, "
        "and the town hall will publish the timetable of the new bus lines next month." for _ in range(8)
    )
    detected = detect_language(LONG_FRENCH[: len(english)] + "\n" + english)
    assert detected.code in {"fr", "en"} and detected.share == 0.5


def test_an_unsure_language_outside_the_declared_ones_falls_back_to_a_declared_one():
    options = "tree -a -d -f -i -l -p -s -u -g -D --inodes --device -F -q -N -Q -r -t -x -L niveau -R -P motif"
    assert detect_language(options).code == "sr"  # fastText alone: a stray, unsure guess
    assert detect_language(options, ["fr"]).code == "und"
    # A declared language among fastText's candidates is taken instead.
    latin = "Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor."
    assert detect_language(latin).code == "la" and detect_language(latin, ["fr", "es"]).code == "es"
    # A language the corpus did not declare is kept when fastText is sure.
    english = "The city council met on Tuesday evening to review the budget and the renovation of the school."
    assert detect_language(english, ["fr"]).code == "en"


def test_the_language_of_every_document_is_stored_with_its_share_and_mixed_ones_are_flagged(member):
    english = " ".join(["The library now offers reading workshops for children on Wednesday afternoons."] * 12)
    mixed = LONG_FRENCH[: len(english)] + "\n" + english
    _corpus, run = analysed(member, [("a.jsonl", jsonl(SYNOPSIS + LONG_FRENCH, mixed))])
    rows = sorted(shard_rows(run), key=lambda row: row["doc_index"])
    assert rows[0]["language"] == "fr" and rows[0]["language_share"] >= 0.6
    assert "mixed_language" not in rows[0]["flags"]
    assert rows[1]["language_share"] == 0.5 and "mixed_language" in rows[1]["flags"]
    assert run.report["quality"]["mixed_language"]["documents"] == 1


def test_quality_flags():
    assert "lorem_ipsum" in quality_signals("Lorem ipsum dolor sit amet " * 20, "fr").flags
    assert "too_short" in quality_signals("Trop court.", "fr").flags
    assert "repeated_lines" in quality_signals("Même ligne.\n" * 20 + LONG_FRENCH, "fr").flags
    assert "no_stop_words" in quality_signals("Voiture rouge garage ouvert matin " * 20, "fr").flags
    # Stop words are matched whatever their case.
    capitals = "Les élèves jouent Le Misanthrope de Molière devant leurs familles ravies. " * 10
    assert "no_stop_words" not in quality_signals(capitals, "fr").flags
    assert quality_signals(capitals, "fr").stop_words == 3  # les, le, de
    assert (
        "cookie_boilerplate"
        in quality_signals("Ce site utilise des cookies. En poursuivant vous acceptez.", "fr").flags
    )
    assert "curly_braces" in quality_signals("function f() { return 1; }", "en").flags
    assert "bullet_lines" in quality_signals("\n".join(f"- élément {i} de la liste" for i in range(30)), "fr").flags
    assert "symbol_ratio" in quality_signals("#tag " * 60, "fr").flags
    assert quality_signals(LONG_FRENCH, "fr").flags == []


def test_mojibake_is_found_past_a_genuine_lead_character():
    # "â" of "château" is not mojibake; the "â€™" further on is.
    clean = normalize("Le château de Vaux, puis lâ€™été.")
    assert clean.text == "Le château de Vaux, puis l’été." and clean.mojibake_fixed


def test_normalize_keeps_good_text_as_it_is():
    clean = normalize(FRENCH[0])
    assert clean.text == FRENCH[0] and not clean.mojibake_fixed and clean.controls_removed == 0


def test_report_counts_personal_data_languages_and_flags(member):
    docs = [
        FRENCH[0] + " Contact : jeanne@exemple.fr.",
        FRENCH[1],
        "The library now offers reading workshops for children on Wednesday afternoons, free of charge.",
        "Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
    ]
    _corpus, run = analysed(member, [("a.jsonl", jsonl(*docs))])
    report = run.report
    assert report["documents"] == 4
    assert report["personal_data"]["email"] == {"documents": 1, "occurrences": 1, "rate": 0.25}
    # Lorem ipsum, an unsure guess of Latin, falls back to the declared French.
    assert {entry["language"]: entry["documents"] for entry in report["languages"]} == {"fr": 3, "en": 1}
    assert report["quality"]["lorem_ipsum"]["documents"] == 1
    assert sum(bucket["documents"] for bucket in report["length_histogram"]) == 4
    rows = sorted(shard_rows(run), key=lambda r: r["doc_index"])
    assert rows[0]["pii_email"] == 1 and len(rows[0]["pii_keys"]) == 1
    assert rows[2]["language"] == "en"


def test_exact_and_near_duplicates_within_the_corpus(member):
    near = LONG_FRENCH + " Une phrase de plus à la fin."
    _corpus, run = analysed(member, [("a.jsonl", jsonl(LONG_FRENCH, FRENCH[0], LONG_FRENCH, near))])
    rows = sorted(shard_rows(run), key=lambda r: r["doc_index"])
    assert [r["duplicate_of"] for r in rows] == [None, None, 0, None]
    assert near_duplicates(run) == {3: 0}
    assert run.report["duplicates"]["exact_within"] == 1 and run.report["duplicates"]["near_within"] == 1


def test_duplicates_against_accepted_corpora(member, other_member):
    accepted, _run = analysed(other_member, [("a.jsonl", jsonl(FRENCH[0], FRENCH[1]))])
    accepted.status = CorpusStatus.APPROVED
    accepted.save()
    pending, _run = analysed(other_member, [("b.jsonl", jsonl(FRENCH[2]))])  # not accepted: does not count
    _corpus, run = analysed(member, [("c.jsonl", jsonl(FRENCH[0], FRENCH[2], "Un texte nouveau et différent."))])
    rows = sorted(shard_rows(run), key=lambda r: r["doc_index"])
    assert [r["duplicate_accepted"] for r in rows] == [True, False, False]
    assert run.report["duplicates"]["exact_accepted"] == 1
    assert DocumentFingerprint.objects.filter(corpus=pending).count() == 1


def test_the_sample_is_reproducible(member):
    docs = [f"Document numéro {i}. " + FRENCH[i % 3] for i in range(100)]
    corpus, first = analysed(member, [("a.jsonl", jsonl(*docs))])
    from contributions.jobs import job_run
    from contributions.models import AnalysisRun

    again = AnalysisRun.objects.create(corpus=corpus, corpus_version=corpus.version)
    job_run("analysis", again.id)
    again.refresh_from_db()
    sample = [s["doc_index"] for s in first.report["sample"]]
    assert len(sample) == 30 and sample == [s["doc_index"] for s in again.report["sample"]]
    assert sample != list(range(30))


def test_analysis_runs_only_once_per_claim(member):
    from contributions.jobs import Outcome, job_run

    _corpus, run = analysed(member, [("a.txt", FRENCH[0])])
    assert job_run("analysis", run.id) is Outcome.NOTHING  # already done: nothing happens
    run.refresh_from_db()
    assert run.attempt == 1


def test_progress_and_report_are_shown_on_the_corpus_page(client, member):
    corpus, run = analysed(member, [("a.jsonl", jsonl(FRENCH[0] + " Écrire à jeanne@exemple.fr.", FRENCH[1]))])
    assert run.progress_done == run.progress_total > 0 and run.documents_done == 2 and run.percent == 100
    client.force_login(member)
    translation.activate("fr")
    progress = client.get(reverse("contributions:corpus_progress", args=[corpus.pk])).json()
    assert progress["analysis"]["status"] == "done" and progress["analysis"]["percent"] == 100
    html = client.get(reverse("contributions:corpus_detail", args=[corpus.pk])).content.decode()
    assert "50,0 % des documents contiennent une adresse e-mail" in html
    assert FRENCH[1] in html


def test_corpus_text_is_shown_inert(client, member, reviewer):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)> ' + FRENCH[0]
    corpus, _run = analysed(member, [("a.jsonl", jsonl(evil))])
    client.force_login(reviewer)
    html = client.get(reverse("contributions:corpus_detail", args=[corpus.pk])).content.decode()
    assert '<script>alert("x")</script>' not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_shards_are_parquet_with_the_documented_columns(member):
    import pyarrow.parquet as pq
    from django.core.files.storage import default_storage

    _corpus, run = analysed(member, [("a.txt", FRENCH[0])])
    shard = [n for n in run.shards if "shard-" in n][0]
    with default_storage.open(shard, "rb") as handle:
        schema = pq.read_schema(io.BytesIO(handle.read()))
    for column in ["text", "language", "flags", "pii_email", "pii_keys", "duplicate_of", "hash", "source", "line"]:
        assert column in schema.names


def test_minhash_signatures_are_the_same_in_every_process():
    """Releases compare signatures computed by different workers."""
    import subprocess
    import sys

    from contributions.analysis.dedup import signatures

    from .conftest import ROOT

    code = (
        "from contributions.analysis.dedup import signatures; import sys; "
        "print(','.join(map(str, signatures([sys.argv[1]])[0][:8])))"
    )
    mine = ",".join(map(str, signatures([LONG_FRENCH])[0][:8]))
    for seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", code, LONG_FRENCH],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            env={**__import__("os").environ, "PYTHONHASHSEED": seed},
        )
        assert result.stdout.strip() == mine, result.stderr


def test_each_file_has_a_time_budget_and_fails_with_its_name(member, settings):
    settings.ANALYSIS_BUDGET_SECONDS = 0
    settings.ANALYSIS_BUDGET_SECONDS_PER_MB = 0
    docs = [f"Document {i}. " + FRENCH[i % 3] for i in range(3000)]
    corpus, run = analysed(member, [("lent.jsonl", jsonl(*docs))])
    assert run.status == JobStatus.FAILED and corpus.status == CorpusStatus.FAILED
    assert said(run.error).startswith("lent.jsonl: reading took longer than 0 s")
    assert corpus.status_reason == run.error


def test_progress_counts_what_is_really_read_of_a_parquet_file(member):
    from contributions.analysis.formats import FormatOptions, ReadProgress, read_documents

    data = parquet([FRENCH[i % 3] for i in range(5000)])
    progress = ReadProgress(total=len(data))
    seen = []
    for _doc in read_documents(io.BytesIO(data), name="a.parquet", fmt="parquet", options=FormatOptions(),
                               size=len(data), progress=progress):
        seen.append(progress.done)
    # It grows with the rows read, up to the whole file, never past it.
    assert seen[0] < seen[len(seen) // 2] < seen[-1] <= len(data) and seen == sorted(seen)
    assert progress.done == len(data)
