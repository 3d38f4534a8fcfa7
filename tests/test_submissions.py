from __future__ import annotations

import io
import zipfile

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from contributions import submissions
from contributions.models import AnalysisRun, Corpus, CorpusFile, CorpusStatus, JobStatus

from .corpora import FRENCH, add_file, jsonl, make_corpus, parquet, submitted, upload, zip_of
from .factories import signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english():
    # Domain calls made here speak English; requests speak their own language.
    with translation.override("en"):
        yield

FORM = {
    "title": "Contes populaires",
    "description": "Contes recueillis en Bretagne au XIXe siècle.",
    "languages": ["fr", "br"],
    "license": "CC-BY-4.0",
    "domain": "literature",
    "source_url": "https://example.org/contes",
    "collection_method": "",
    "period_start": "1850",
    "period_end": "1900",
    "rights_attested": "on",
}


def test_member_creates_a_draft_corpus(client, member):
    client.force_login(member)
    response = client.post(reverse("contributions:corpus_new"), FORM)
    corpus = Corpus.objects.get()
    assert response["Location"] == reverse("contributions:corpus_detail", args=[corpus.pk])
    assert corpus.status == CorpusStatus.DRAFT
    assert corpus.submitter == member and corpus.submitter_pseudonym == member.pseudonym
    assert corpus.languages == ["fr", "br"] and (corpus.period_start, corpus.period_end) == (1850, 1900)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rights_attested": ""}, "rights_attested"),
        ({"source_url": ""}, "source_url"),
        ({"web_collected": "on"}, "tdm_respected"),
        ({"period_start": "1950", "period_end": "1900"}, "period_end"),
        ({"license": "proprietary"}, "license"),
        ({"languages": ["xx"]}, "languages"),
    ],
)
def test_corpus_form_refuses_incomplete_metadata(client, member, change, field):
    client.force_login(member)
    response = client.post(reverse("contributions:corpus_new"), {**FORM, **change})
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Corpus.objects.exists()


def test_non_commercial_license_is_accepted_but_restricted(member):
    corpus = make_corpus(member, license="CC-BY-NC-4.0")
    assert corpus.is_restricted
    assert not make_corpus(member, license="CC-BY-SA-4.0").is_restricted


@pytest.mark.parametrize(
    ("name", "content", "options"),
    [
        ("notes.txt", FRENCH[0], {}),
        ("notes.md", "# Titre\n\n" + FRENCH[0], {}),
        ("docs.jsonl", jsonl(*FRENCH), {}),
        ("docs.csv", 'id,contenu\n1,"' + FRENCH[0] + '"\n', {"text_column": "contenu"}),
        ("docs.tsv", "contenu\tid\n" + FRENCH[0] + "\t1\n", {"text_column": "contenu"}),
        ("docs.parquet", parquet(FRENCH), {}),
        ("docs.zip", zip_of({"a.txt": FRENCH[0].encode(), "b.jsonl": jsonl(FRENCH[1])}), {}),
    ],
)
def test_every_format_is_accepted(client, member, name, content, options):
    corpus = make_corpus(member)
    client.force_login(member)
    data = {"split": "file", "separator": "", "text_column": "text", **options, "files": [upload(name, content)]}
    response = client.post(reverse("contributions:corpus_upload", args=[corpus.pk]), data)
    assert response.status_code == 302
    stored = CorpusFile.objects.get(corpus=corpus)
    assert stored.original_name == name and stored.size == len(
        content if isinstance(content, bytes) else content.encode()
    )
    assert len(stored.sha256) == 64
    with stored.file.open("rb") as handle:
        assert handle.read() == (content if isinstance(content, bytes) else content.encode())


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
BAD_UPLOADS = [
    ("empty.txt", b"", "empty.txt: the file is empty"),
    ("photo.jpg", b"\xff\xd8\xff\xe0", "photo.jpg: unsupported file type"),
    ("image.txt", PNG, "image.txt: the content is not text: it looks like a PNG image"),
    (
        "program.txt",
        b"MZ\x90\x00" + b"\x00" * 200,
        "program.txt: the content is not text: it looks like a Windows executable",
    ),
    ("elf.md", b"\x7fELF\x02\x01\x01" + b"\x00" * 100, "elf.md: the content is not text: it looks like an executable"),
    ("page.txt", b"<!DOCTYPE html><html><body>Bonjour</body></html>", "page.txt: the content is HTML"),
    ("noise.txt", bytes(range(256)) * 40, "noise.txt: the content is binary data"),
    ("data.csv", "id,body\n1,bonjour\n", 'data.csv, line 1: no column "text" (columns: id, body)'),
    ("data.parquet", b"not parquet at all", "data.parquet: the content is not a Parquet file"),
    ("data.parquet", parquet(["x"], column="body"), 'data.parquet: no column "text" (columns: body)'),
    ("archive.zip", b"PK\x03\x04 broken", "archive.zip: not a valid ZIP archive"),
    ("archive.tar.gz", b"plain text", "archive.tar.gz: the content is not a gzip-compressed tar archive"),
]


@pytest.mark.parametrize(
    ("name", "content", "message"), BAD_UPLOADS, ids=[b[0] + str(i) for i, b in enumerate(BAD_UPLOADS)]
)
def test_bad_upload_is_refused_with_a_message_naming_the_file(client, member, name, content, message):
    corpus = make_corpus(member)
    client.force_login(member)
    response = client.post(
        reverse("contributions:corpus_upload", args=[corpus.pk]),
        {"split": "file", "text_column": "text", "files": [upload(name, content)]},
        follow=True,
        headers={"accept-language": "en"},
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    assert any(message in m for m in shown), shown
    assert not CorpusFile.objects.exists()


def test_upload_messages_are_in_french_by_default(client, member):
    corpus = make_corpus(member)
    client.force_login(member)
    response = client.post(
        reverse("contributions:corpus_upload", args=[corpus.pk]),
        {"split": "file", "text_column": "text", "files": [upload("image.txt", PNG)]},
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert "image.txt\u00a0: le contenu n’est pas du texte\u00a0: cela ressemble à une image PNG" in shown


def test_one_bad_file_does_not_stop_the_good_ones(client, member):
    corpus = make_corpus(member)
    client.force_login(member)
    client.post(
        reverse("contributions:corpus_upload", args=[corpus.pk]),
        {"split": "file", "text_column": "text", "files": [upload("ok.txt", FRENCH[0]), upload("bad.txt", PNG)]},
    )
    assert list(CorpusFile.objects.values_list("original_name", flat=True)) == ["ok.txt"]


def test_decompression_bomb_is_refused(client, member):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("zeros.txt", b"\x00" * (200 * 1024 * 1024))
    corpus = make_corpus(member)
    with pytest.raises(ValidationError, match="decompression bomb"):
        add_file(corpus, "bomb.zip", buffer.getvalue())
    assert not CorpusFile.objects.exists()


def test_too_many_files_in_one_request(client, member, settings):
    settings.UPLOAD_MAX_FILES_PER_REQUEST = 3
    corpus = make_corpus(member)
    client.force_login(member)
    response = client.post(
        reverse("contributions:corpus_upload", args=[corpus.pk]),
        {"split": "file", "text_column": "text", "files": [upload(f"{i}.txt", FRENCH[0]) for i in range(4)]},
        follow=True,
    )
    assert any("Trop de fichiers" in str(m) or "Too many files" in str(m) for m in response.context["messages"])
    assert not CorpusFile.objects.exists()


def test_file_over_the_size_limit_is_refused(client, member, settings):
    settings.UPLOAD_MAX_FILE_SIZE = 100_000
    corpus = make_corpus(member)
    client.force_login(member)
    response = client.post(
        reverse("contributions:corpus_upload", args=[corpus.pk]),
        {
            "split": "file",
            "text_column": "text",
            "files": [upload("big.txt", "a" * 300_000), upload("small.txt", FRENCH[0])],
        },
        follow=True,
    )
    shown = [str(m) for m in response.context["messages"]]
    assert any("big.txt" in m and "100\u00a0000" in m for m in shown), shown
    assert list(CorpusFile.objects.values_list("original_name", flat=True)) == ["small.txt"]


def test_uploaded_files_are_downloaded_as_attachments(client, member, reviewer, other_member):
    corpus = make_corpus(member)
    stored = add_file(corpus, "page.md", "<script>alert(1)</script> " + FRENCH[0])
    url = reverse("contributions:corpus_file_download", args=[corpus.pk, stored.pk])
    client.force_login(member)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="page.md"')
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream"
    client.force_login(reviewer)
    assert client.get(url).status_code == 200
    client.force_login(other_member)
    assert client.get(url).status_code == 404


def test_submit_creates_a_queued_analysis(client, member):
    corpus = make_corpus(member)
    add_file(corpus, "a.txt", FRENCH[0])
    client.force_login(member)
    client.post(reverse("contributions:corpus_submit", args=[corpus.pk]))
    corpus.refresh_from_db()
    assert corpus.status == CorpusStatus.SUBMITTED and corpus.version == 1
    run = AnalysisRun.objects.get(corpus=corpus)
    assert run.status == JobStatus.QUEUED and run.corpus_version == 1


def test_submit_needs_a_file(member):
    corpus = make_corpus(member)
    with pytest.raises(ValidationError, match="at least one file"):
        submissions.corpus_submit(corpus=corpus, actor=member)


def test_submit_needs_the_rights_attestation(member):
    corpus = make_corpus(member, rights_attested=False)
    add_file(corpus, "a.txt", FRENCH[0])
    with pytest.raises(ValidationError, match="rights"):
        submissions.corpus_submit(corpus=corpus, actor=member)


def test_adding_a_file_after_submitting_cancels_the_analysis(member):
    corpus, run = submitted(member, [("a.txt", FRENCH[0])])
    add_file(corpus, "b.txt", FRENCH[1])
    corpus.refresh_from_db()
    run.refresh_from_db()
    assert corpus.status == CorpusStatus.DRAFT
    assert run.status == JobStatus.CANCELLED
    second = submissions.corpus_submit(corpus=corpus, actor=member)
    assert second.corpus_version == 2


def test_removing_a_file_deletes_it_from_storage(client, member, django_capture_on_commit_callbacks):
    corpus = make_corpus(member)
    stored = add_file(corpus, "a.txt", FRENCH[0])
    storage, name = stored.file.storage, stored.file.name
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("contributions:corpus_file_delete", args=[corpus.pk, stored.pk]))
    assert not CorpusFile.objects.exists()
    assert not storage.exists(name)


def test_member_edits_metadata_until_review_starts(client, member):
    corpus, _run = submitted(member, [("a.txt", FRENCH[0])])
    client.force_login(member)
    response = client.post(reverse("contributions:corpus_edit", args=[corpus.pk]), {**FORM, "title": "Nouveau titre"})
    assert response.status_code == 302
    corpus.refresh_from_db()
    assert corpus.title == "Nouveau titre"
    corpus.status = CorpusStatus.AWAITING_REVIEW
    corpus.review_started_at = corpus.submitted_at
    corpus.save()
    client.post(reverse("contributions:corpus_edit", args=[corpus.pk]), {**FORM, "title": "Trop tard"})
    corpus.refresh_from_db()
    assert corpus.title == "Nouveau titre"
    with pytest.raises(ValidationError):
        add_file(corpus, "b.txt", FRENCH[1])


def test_member_withdraws_a_corpus(client, member):
    corpus, run = submitted(member, [("a.txt", FRENCH[0])])
    client.force_login(member)
    client.post(reverse("contributions:corpus_withdraw", args=[corpus.pk]))
    corpus.refresh_from_db()
    run.refresh_from_db()
    assert corpus.status == CorpusStatus.WITHDRAWN and run.status == JobStatus.CANCELLED


def test_another_member_cannot_touch_my_corpus(client, member, other_member):
    corpus = make_corpus(member)
    stored = add_file(corpus, "a.txt", FRENCH[0])
    client.force_login(other_member)
    for url in [
        reverse("contributions:corpus_detail", args=[corpus.pk]),
        reverse("contributions:corpus_progress", args=[corpus.pk]),
    ]:
        assert client.get(url).status_code == 404
    for url in [
        reverse("contributions:corpus_submit", args=[corpus.pk]),
        reverse("contributions:corpus_withdraw", args=[corpus.pk]),
        reverse("contributions:corpus_file_delete", args=[corpus.pk, stored.pk]),
    ]:
        assert client.post(url).status_code == 404
    corpus.refresh_from_db()
    assert corpus.status == CorpusStatus.DRAFT and CorpusFile.objects.count() == 1


def test_corpus_list_query_count_does_not_grow(client, member, django_assert_max_num_queries):
    signed_in(client, member)
    for _ in range(3):
        add_file(make_corpus(member), "a.txt", FRENCH[0])
    with django_assert_max_num_queries(8) as few:
        client.get(reverse("contributions:corpus_list"))
    for _ in range(10):
        add_file(make_corpus(member), "a.txt", FRENCH[0])
    with django_assert_max_num_queries(len(few)):
        response = client.get(reverse("contributions:corpus_list"))
    assert len(response.context["corpora"]) == 13


def test_corpus_text_and_metadata_are_escaped(client, member):
    corpus = make_corpus(member, title='<img src=x onerror="alert(1)">', description="<script>alert(2)</script>")
    client.force_login(member)
    html = client.get(reverse("contributions:corpus_detail", args=[corpus.pk])).content.decode()
    assert "<script>alert(2)</script>" not in html and "&lt;script&gt;" in html
    assert '<img src=x onerror="alert(1)">' not in html


def test_deleting_the_account_keeps_corpora_under_the_pseudonym(client, member):
    corpus = make_corpus(member)
    Corpus.objects.filter(pk=corpus.pk).update(status=CorpusStatus.APPROVED, submitted_at=timezone.now())
    client.force_login(member)
    client.post(reverse("contributions:profile_delete"), {"confirm": "on"})
    corpus.refresh_from_db()
    assert corpus.submitter is None and corpus.submitter_pseudonym == member.pseudonym


def test_uploads_count_against_the_request_file_cap(client, member):
    corpus = make_corpus(member)
    client.force_login(member)
    files = [upload(f"{i}.txt", "x") for i in range(201)]
    response = client.post(reverse("contributions:corpus_upload", args=[corpus.pk]), {"files": files})
    assert response.status_code == 400
    assert not CorpusFile.objects.exists()


def test_reviewer_sees_any_corpus_but_cannot_edit_it(client, member, reviewer):
    corpus = make_corpus(member)
    client.force_login(reviewer)
    assert client.get(reverse("contributions:corpus_detail", args=[corpus.pk])).status_code == 200
    assert client.post(reverse("contributions:corpus_submit", args=[corpus.pk])).status_code == 404
