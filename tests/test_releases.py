from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from contributions import lifecycle, releases, removals, review
from contributions.jobs import job_run
from contributions.models import CorpusStatus, Decision, JobStatus, Release, TrainingVersion
from contributions.texts import message_render

from .corpora import FRENCH, analysed, job_finished, jsonl
from .factories import MaintainerFactory, UserFactory

# datasets reads these when first imported: never the network, a cache of
# the tests' own.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HOME", tempfile.mkdtemp(prefix="hf-home-"))

pytestmark = pytest.mark.django_db

ENGLISH = [
    "The library now offers reading workshops for children on Wednesday afternoons, free of charge for everyone.",
    "A new cycle lane will soon link the station to the town centre; work starts in spring and lasts six months.",
]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def maintainer_user(db):
    return MaintainerFactory()


def queued(user, maintainer, docs, **metadata):
    """A corpus approved and with its training-ready version built."""
    corpus, _run = analysed(user, [("a.jsonl", jsonl(*docs))], **metadata)
    corpus = review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    version = TrainingVersion.objects.get(corpus=corpus)
    job_finished("training", version.id)
    corpus.refresh_from_db()
    assert corpus.status == CorpusStatus.QUEUED_FOR_TRAINING
    return corpus


def build(maintainer, version="2026-12", **kwargs) -> Release:
    release = releases.release_create(actor=maintainer, version=version, **kwargs)
    job_finished("release", release.id)
    release.refresh_from_db()
    assert release.status == JobStatus.DONE, release.error
    return release


def exported(release, tmp_path) -> Path:
    out = tmp_path / release.version
    releases.release_export(release=release, out=out)
    return out


def rows_of(directory: Path) -> list[dict]:
    import pyarrow.parquet as pq

    rows = []
    for path in sorted(directory.glob("data/*/*.parquet")):
        rows.extend(pq.read_table(path).to_pylist())
    return rows


def test_release_is_loadable_with_datasets(member, maintainer_user, tmp_path):
    import datasets

    corpus = queued(member, maintainer_user, FRENCH + ["Écrire à jeanne@exemple.fr pour les inscriptions."])
    release = build(maintainer_user)
    out = exported(release, tmp_path)
    loaded = datasets.load_dataset(str(out), "open", split="train", cache_dir=str(tmp_path / "cache"))
    assert loaded.num_rows == 4
    row = loaded[3]
    assert row["text"] == "Écrire à <EMAIL> pour les inscriptions."
    assert row["id"] == f"c{corpus.id}-v1-d3"
    assert (row["corpus_id"], row["license"], row["domain"]) == (corpus.id, "etalab-2.0", "administrative")
    assert row["submitter"] == member.pseudonym and row["reviewers"] == [maintainer_user.pseudonym]
    assert row["processing_version"] == "analysis-3"
    files = sorted(str(p) for p in out.glob("data/open/*.parquet"))
    again = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "cache2"))
    assert again.num_rows == 4
    corpus.refresh_from_db()
    assert corpus.status == CorpusStatus.RELEASED


def test_card_metadata_parses_as_hugging_face_expects(member, maintainer_user, tmp_path):
    from huggingface_hub import DatasetCard

    queued(member, maintainer_user, FRENCH)
    queued(UserFactory(), maintainer_user, ENGLISH, license="CC-BY-NC-4.0", languages=["en"])
    out = exported(build(maintainer_user), tmp_path)
    card = DatasetCard.load(out / "README.md")
    data = card.data.to_dict()
    assert sorted(data["license"]) == ["cc-by-nc-4.0", "etalab-2.0"]
    assert data["language"] == ["en", "fr"]
    assert data["size_categories"] == ["n<1K"] and data["task_categories"] == ["text-generation"]
    configs = {c["config_name"]: c for c in data["configs"]}
    assert set(configs) == {"open-fr", "restricted-en"}
    assert configs["open-fr"]["data_files"] == [{"split": "train", "path": "data/open-fr/*.parquet"}]
    assert "Comptes rendus du conseil municipal" in card.text  # the provenance table


def test_manifest_lists_the_sha256_of_every_file(member, maintainer_user, tmp_path):
    queued(member, maintainer_user, FRENCH)
    release = build(maintainer_user)
    out = exported(release, tmp_path)
    lines = (out / "MANIFEST.sha256").read_text().splitlines()
    listed = {line.split("  ")[1]: line.split("  ")[0] for line in lines}
    assert set(listed) == {"README.md", "removed_ids.txt", "data/open/train-00000.parquet"}
    for path, digest in listed.items():
        assert hashlib.sha256((out / path).read_bytes()).hexdigest() == digest


def test_rebuilding_the_same_inputs_gives_byte_identical_files(member, maintainer_user):
    queued(member, maintainer_user, FRENCH)
    queued(UserFactory(), maintainer_user, ENGLISH, languages=["en"])
    release = build(maintainer_user)
    first = {entry["path"]: entry["sha256"] for entry in release.files}
    # The same release built again, as a worker taking it over would.
    Release.objects.filter(pk=release.pk).update(status=JobStatus.QUEUED)
    job_run("release", release.id)
    release.refresh_from_db()
    assert release.attempt == 2
    assert {entry["path"]: entry["sha256"] for entry in release.files} == first


def test_duplicates_are_removed_across_the_release(member, maintainer_user, tmp_path):
    long_text = " ".join(FRENCH * 2)
    # An exact duplicate the reviewers left in, and a near-duplicate across corpora.
    first = queued(member, maintainer_user, [long_text, FRENCH[0], FRENCH[0]])
    queued(UserFactory(), maintainer_user, [long_text + " Et une phrase de plus.", ENGLISH[0]])
    release = build(maintainer_user)
    rows = rows_of(exported(release, tmp_path))
    texts = [r["text"] for r in rows]
    assert texts.count(FRENCH[0]) == 1 and texts.count(long_text) == 1
    assert not any(t.startswith(long_text + " Et") for t in texts)
    assert release.stats["duplicates_removed"] == {"exact": 1, "near": 1}
    assert {r["corpus_id"] for r in rows if r["text"] == long_text} == {first.id}


def test_corpora_approved_together_keep_one_copy_of_a_shared_document(member, maintainer_user, tmp_path):

    a, _ = analysed(member, [("a.jsonl", jsonl(FRENCH[0], FRENCH[1]))])
    b, _ = analysed(UserFactory(), [("b.jsonl", jsonl(FRENCH[0], FRENCH[2]))])
    for corpus in (a, b):
        review.review_decide(corpus=corpus, reviewer=maintainer_user, decision=Decision.APPROVE)
    for corpus in (a, b):
        job_finished("training", TrainingVersion.objects.get(corpus=corpus).id)
    texts = [r["text"] for r in rows_of(exported(build(maintainer_user), tmp_path))]
    assert sorted(texts) == sorted(FRENCH)


def test_filters_license_language_and_quality_flags(member, maintainer_user, tmp_path):
    queued(member, maintainer_user, FRENCH + ["Lorem ipsum dolor sit amet, consectetur adipiscing elit."])
    queued(UserFactory(), maintainer_user, ENGLISH, license="CC-BY-4.0", languages=["en"])
    release = build(maintainer_user, licenses=["etalab-2.0"], languages=["fr"], drop_flags=["lorem_ipsum"])
    rows = rows_of(exported(release, tmp_path))
    assert sorted(r["text"] for r in rows) == sorted(FRENCH)
    assert release.stats["configs"] == {
        "open": {"documents": 3, "files": 1, "words": sum(r["words"] for r in rows), "languages": ["fr"],
                 "family": "open"}
    }


def test_domain_filter_keeps_only_those_domains(member, maintainer_user, tmp_path):
    queued(member, maintainer_user, FRENCH[:2])
    legal = queued(UserFactory(), maintainer_user, [FRENCH[2]], domain="legal")
    release = build(maintainer_user, domains=["legal"])
    rows = rows_of(exported(release, tmp_path))
    assert [(r["corpus_id"], r["domain"]) for r in rows] == [(legal.id, "legal")]
    assert list(release.stats["corpora"]) == [str(legal.id)]


def test_two_releases_with_the_same_version_at_once_give_a_clean_message(member, maintainer_user, monkeypatch):
    from django.core.exceptions import ValidationError

    queued(member, maintainer_user, FRENCH)
    real_filter = Release.objects.filter

    class Racing:
        """The other maintainer's release lands between the check and the insert."""

        def __init__(self):
            self.first = True

        def __call__(self, *args, **kwargs):
            if self.first and kwargs.get("version") == "2026-12":
                self.first = False
                Release.objects.create(version="2026-12", created_by=maintainer_user)
                return real_filter(pk__in=[])  # what the check saw, a moment before
            return real_filter(*args, **kwargs)

    monkeypatch.setattr(Release.objects, "filter", Racing())
    with pytest.raises(ValidationError, match="already exists"):
        releases.release_create(actor=maintainer_user, version="2026-12")


def test_removal_request_is_honoured_in_the_next_release(client, member, maintainer_user, tmp_path):
    corpus = queued(member, maintainer_user, FRENCH + ["Contact : jeanne@exemple.fr, merci."])
    first = build(maintainer_user, version="r1", public=True)
    by_phrase = removals.removal_request_file(
        kind="copyright", phrase="La bibliothèque propose désormais", contact="auteur@example.org"
    )
    by_email = removals.removal_request_file(kind="personal_data", contact="Jeanne@Exemple.fr", search_address=True)
    for removal in (by_phrase, by_email):
        search = removals.removal_confirm(removal=removal)
        job_run("removal_search", search.id)
    assert by_phrase.search.matches == [f"c{corpus.id}-v1-d1"]
    by_email.refresh_from_db()
    assert by_email.search.matches == [f"c{corpus.id}-v1-d3"] and by_email.email_key
    assert by_email.search.release == first
    removals.removal_decide(request_id=by_phrase.id, maintainer=maintainer_user, accept=True)
    removals.removal_decide(request_id=by_email.id, maintainer=maintainer_user, accept=False)
    second = build(maintainer_user, version="r2")
    out = exported(second, tmp_path)
    texts = [r["text"] for r in rows_of(out)]
    assert FRENCH[1] not in texts and len(texts) == 3
    assert (out / "removed_ids.txt").read_text() == f"c{corpus.id}-v1-d1\n"
    assert "Documents removed on request: 1" in second.notes
    assert "Previous release: r1" in second.notes and first.notes.startswith("# r1")


def test_release_notes_against_the_previous_release(member, maintainer_user):
    queued(member, maintainer_user, FRENCH)
    build(maintainer_user, version="r1")
    other = queued(UserFactory(), maintainer_user, ENGLISH, languages=["en"], license="CC-BY-4.0")
    second = build(maintainer_user, version="r2")
    assert f"Corpora added: 1 ({other.id})" in second.notes
    assert "Documents added: 2" in second.notes
    assert "CC-BY-4.0:" in second.notes


def test_export_and_publish_commands(member, maintainer_user, tmp_path, capsys):
    queued(member, maintainer_user, FRENCH)
    release = build(maintainer_user)
    call_command("export_release", release.version, "--out", str(tmp_path / "x"))
    assert (tmp_path / "x" / "README.md").exists()
    call_command("publish_release", release.version, "--repo", "openllm-europe/test", "--dry-run")
    plan = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert plan["dry_run"] is True and plan["repo_id"] == "openllm-europe/test"
    assert plan["commit_message"] == "Release 2026-12"
    assert sorted(plan["files"]) == sorted(entry["path"] for entry in release.files)


def test_a_failed_build_leaves_no_release_visible(client, member, maintainer_user, monkeypatch):
    queued(member, maintainer_user, FRENCH)
    release = releases.release_create(actor=maintainer_user, version="broken")

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(releases, "dataset_card", explode)
    job_run("release", release.id)
    release.refresh_from_db()
    assert release.status == JobStatus.FAILED and "disk full" in release.error and release.files == []
    from django.core.files.storage import default_storage

    assert not default_storage.exists(f"releases/{release.pk}/attempt-1/README.md")
    assert not default_storage.exists(f"releases/{release.pk}")
    Release.objects.filter(pk=release.pk).update(public=True)
    assert client.get(reverse("contributions:release_detail", args=["broken"])).status_code == 404


def test_release_downloads_follow_access_rules(client, member, maintainer_user):
    queued(member, maintainer_user, FRENCH)
    release = build(maintainer_user)
    url = reverse("contributions:release_file", args=[release.version, "README.md"])
    assert client.get(url).status_code == 404
    client.force_login(member)
    assert client.get(url).status_code == 404
    client.force_login(maintainer_user)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert (
        client.get(reverse("contributions:release_file", args=[release.version, "../../etc/passwd"])).status_code == 404
    )
    Release.objects.filter(pk=release.pk).update(public=True)
    client.logout()
    assert client.get(url).status_code == 200


def test_training_queue_page_and_release_form(client, member, maintainer_user):
    corpus = queued(member, maintainer_user, FRENCH)
    client.force_login(maintainer_user)
    response = client.get(reverse("contributions:training_queue"))
    assert [e["corpus"] for e in response.context["entries"]] == [corpus]
    assert response.context["totals"]["license"] == [
        {
            "value": "etalab-2.0",
            "documents": 3,
            "words": corpus.training_versions.get().words,
            "characters": corpus.training_versions.get().characters,
        }
    ]
    response = client.post(reverse("contributions:training_queue"), {"version": "2027-01", "corpora": [corpus.pk]})
    assert response.status_code == 302
    release = Release.objects.get(version="2027-01")
    assert list(release.corpora.all()) == [corpus] and release.status == JobStatus.QUEUED


def test_a_language_filter_that_empties_a_corpus(member, maintainer_user, tmp_path):
    queued(member, maintainer_user, FRENCH)
    queued(UserFactory(), maintainer_user, ENGLISH, languages=["en"])
    release = build(maintainer_user, languages=["fr"])
    assert sorted(r["text"] for r in rows_of(exported(release, tmp_path))) == sorted(FRENCH)


def test_a_corpus_unpublished_before_the_build_is_left_out(member, maintainer_user, tmp_path):
    from contributions import lifecycle

    kept = queued(member, maintainer_user, FRENCH)
    gone = queued(UserFactory(), maintainer_user, ENGLISH, languages=["en"])
    release = releases.release_create(actor=maintainer_user, version="r1")
    lifecycle.corpus_transition(corpus_id=gone.id, to=CorpusStatus.WITHDRAWN, actor=maintainer_user)
    job_run("release", release.id)
    release.refresh_from_db()
    assert {r["corpus_id"] for r in rows_of(exported(release, tmp_path))} == {kept.id}




def test_a_release_whose_corpora_were_all_unpublished_fails_with_the_reason(member, maintainer_user):
    corpus = queued(member, maintainer_user, FRENCH)
    release = releases.release_create(actor=maintainer_user, version="vide")
    lifecycle.corpus_transition(corpus_id=corpus.id, to=CorpusStatus.WITHDRAWN, actor=maintainer_user)
    job_run("release", release.id)
    release.refresh_from_db()
    assert release.status == JobStatus.FAILED
    # Kept as a code, told in the reader's language.
    with translation.override("fr"):
        assert message_render(release.error).startswith("plus aucun document à publier")
    with translation.override("en"):
        assert message_render(release.error).startswith("no document left to release")
