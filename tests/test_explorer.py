"""The data explorer: a release config or a corpus's training-ready version
read in place with DuckDB. Its counts are checked against pyarrow reading the
same files; its parameters come from anyone."""

from __future__ import annotations

import random
from collections import Counter

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from bench.corpusgen import document
from contributions import explorer, lifecycle, releases
from contributions.models import Corpus, CorpusStatus, JobStatus, Release, TrainingVersion

from .factories import MaintainerFactory, UserFactory, signed_in
from .test_releases import build, queued

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
LONG_MARK = "zythophile"


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _fresh_indexes():
    # Stored names never change in production; here each test reuses them.
    explorer._INDEXES.clear()
    yield
    explorer._INDEXES.clear()


def generated(count: int, seed: int, marked: int | None = None) -> list[str]:
    rng = random.Random(seed)
    docs = [document(rng) for _ in range(count)]
    if marked is not None:
        docs[marked] = docs[marked] + f" Un {LONG_MARK.upper()} convaincu."
    return docs


def release_rows(release: Release, config: str) -> list[dict]:
    rows = []
    for entry in sorted(release.files, key=lambda e: e["path"]):
        if entry["path"].startswith(f"data/{config}/"):
            with default_storage.open(f"{release.prefix}/{entry['path']}", "rb") as handle:
                rows.extend(pq.read_table(handle).to_pylist())
    return rows


@pytest.fixture
def built(db):
    """A real release: two open French corpora (one of them past a page of
    rows) and a restricted one."""
    maintainer = MaintainerFactory()
    first = queued(UserFactory(), maintainer, generated(130, 1, marked=7), title="Premier")
    second = queued(UserFactory(), maintainer, generated(12, 2), title="Second", license="CC-BY-4.0")
    restricted = queued(
        UserFactory(), maintainer, generated(5, 3, marked=2), title="Restreint", license="CC-BY-NC-4.0"
    )
    release = build(maintainer, public=True)
    return release, first, second, restricted


def summary_of(release: Release, config: str, **params) -> explorer.Summary:
    dataset = explorer.release_dataset(release=release, config=config)
    query, _errors = explorer.query_parse(params=params, restricted_text=True)
    with explorer.session() as s:
        return explorer.explorer_summary(s=s, dataset=dataset, query=query)


def test_counts_and_distributions_equal_the_parquet_files(built, client):
    release, first, second, _restricted = built
    assert set(release.stats["configs"]) == {"open", "restricted"}
    rows = release_rows(release, "open")
    response = client.get(reverse("contributions:explore_release", args=[release.version, "open"]), **EN)
    assert response.status_code == 200
    summary = response.context["summary"]
    assert summary.total == len(rows) == release.stats["configs"]["open"]["documents"]
    assert not summary.capped
    assert dict(summary.languages) == dict(Counter(r["language"] for r in rows))
    assert dict(summary.licenses) == {"etalab-2.0": first.release_entries.get().documents, "CC-BY-4.0": 12}
    assert {pk: n for pk, _title, n in summary.corpora} == dict(Counter(r["corpus_id"] for r in rows))
    flags = Counter(flag for r in rows for flag in r["quality_flags"])
    assert dict(summary.flags) == dict(flags.most_common(explorer.TOP))
    assert sum(n for _label, n in summary.lengths) == len(rows)
    assert f"{len(rows)} rows" in response.content.decode()


def test_filters_and_search_return_the_right_rows(built):
    release, first, second, _restricted = built
    rows = release_rows(release, "open")
    marked = [r for r in rows if LONG_MARK in r["text"].lower()]
    assert len(marked) == 1
    found = summary_of(release, "open", q="Zythophile")
    assert found.total == 1 and found.hits is not None
    with explorer.session() as s:
        dataset = explorer.release_dataset(release=release, config="open")
        query, _ = explorer.query_parse(params={"q": "ZYTHOPHILE"}, restricted_text=True)
        page = explorer.explorer_page(s=s, dataset=dataset, query=query, summary=found)
    assert [r["id"] for r in page] == [marked[0]["id"]]
    assert summary_of(release, "open", q="conseil municipal").total == sum(
        "conseil municipal" in r["text"].lower() for r in rows
    )
    assert summary_of(release, "open", license="CC-BY-4.0").total == 12
    assert summary_of(release, "open", corpus=str(first.id)).total == sum(r["corpus_id"] == first.id for r in rows)
    assert summary_of(release, "open", corpus=str(second.id), q="Zythophile").total == 0
    middle = sorted(r["chars"] for r in rows)[len(rows) // 2]
    assert summary_of(release, "open", min_chars=str(middle)).total == sum(r["chars"] >= middle for r in rows)
    assert summary_of(release, "open", max_chars=str(middle)).total == sum(r["chars"] <= middle for r in rows)
    flag = Counter(f for r in rows for f in r["quality_flags"]).most_common(1)
    if flag:
        assert summary_of(release, "open", flag=flag[0][0]).total == flag[0][1]
    assert summary_of(release, "open", language="xx").total == 0


def test_pages_hold_a_hundred_rows_and_a_row_has_its_own_url(built, client):
    release, *_ = built
    rows = release_rows(release, "open")
    url = reverse("contributions:explore_release", args=[release.version, "open"])
    first = client.get(url, **EN)
    assert len(first.context["rows"]) == 100
    assert [r["id"] for r in first.context["rows"]] == [r["id"] for r in rows[:100]]
    second = client.get(url, {"page": 2}, **EN)
    assert [r["id"] for r in second.context["rows"]] == [r["id"] for r in rows[100:]]
    # A page past the end shows the last one.
    far = client.get(url, {"page": 10**6}, **EN)
    assert far.status_code == 200 and far.context["page"] == 2
    long_row = max(rows, key=lambda r: r["chars"])
    assert long_row["chars"] > explorer.PREVIEW_CHARS
    assert escape(long_row["text"]) not in first.content.decode() + second.content.decode()
    row_url = reverse("contributions:explore_release_row", args=[release.version, "open", long_row["id"]])
    assert row_url in first.content.decode() + second.content.decode()
    page = client.get(row_url, **EN)
    assert page.status_code == 200
    assert page.context["row"]["text"] == long_row["text"]
    assert client.get(row_url.replace(long_row["id"], "c0-v1-d0"), **EN).status_code == 404


def test_rows_of_a_corpus_unpublished_since_the_release_are_not_shown(built, client):
    release, first, second, _restricted = built
    rows = release_rows(release, "open")
    Corpus.objects.filter(pk=second.pk).update(status=CorpusStatus.WITHDRAWN)
    url = reverse("contributions:explore_release", args=[release.version, "open"])
    response = client.get(url, **EN)
    assert response.context["summary"].total == sum(r["corpus_id"] != second.id for r in rows)
    assert second.id not in {pk for pk, _title, _n in response.context["summary"].corpora}
    hidden = next(r for r in rows if r["corpus_id"] == second.id)
    searched = client.get(url, {"q": hidden["text"][:60]}, **EN).context["summary"]
    assert second.id not in {pk for pk, _title, _n in searched.corpora}
    row_url = reverse("contributions:explore_release_row", args=[release.version, "open", hidden["id"]])
    assert client.get(row_url).status_code == 404


def test_the_explorer_of_a_release_opens_on_its_default_config(built, client):
    release, *_ = built
    response = client.get(reverse("contributions:explore_release_default", args=[release.version]))
    assert response.status_code == 302
    assert response["Location"] == reverse("contributions:explore_release", args=[release.version, "open"])
    missing = reverse("contributions:explore_release", args=[release.version, "open-xx"])
    assert client.get(missing).status_code == 404


def test_restricted_text_is_for_signed_in_visitors(built, client):
    release, _first, _second, restricted = built
    rows = release_rows(release, "restricted")
    marked = next(r for r in rows if LONG_MARK in r["text"].lower())
    url = reverse("contributions:explore_release", args=[release.version, "restricted"])
    row_url = reverse("contributions:explore_release_row", args=[release.version, "restricted", marked["id"]])
    anonymous = client.get(url, {"q": LONG_MARK}, **EN)
    # The metadata shows; the text is neither shown nor searched.
    assert anonymous.context["summary"].total == 0
    listed = client.get(url, **EN).content.decode()
    assert marked["id"] in listed and "sign in to read" in listed
    shown = escape(marked["text"][:40])
    assert shown not in listed
    page = client.get(row_url, **EN).content.decode()
    assert "Sign in to read it." in page and shown not in page
    client.force_login(UserFactory())
    assert client.get(url, {"q": LONG_MARK}, **EN).context["summary"].total == 1
    assert shown in client.get(row_url, **EN).content.decode()
    assert shown in client.get(url, **EN).content.decode()


@pytest.mark.parametrize(
    "params",
    [
        {"q": "l'école \"primaire\" 100% _x_ \\"},
        {"q": "'); DROP TABLE contributions_corpus; --"},
        {"q": "x" * 5000},
        {"q": "\x00"},
        {"corpus": "abc", "min_chars": "-4", "max_chars": "1e9", "page": "zéro"},
        {"page": str(10**30)},
        {"page": "-1", "language": "' OR 1=1 --", "license": "%", "flag": "\\"},
    ],
)
def test_hostile_parameters_never_fail(synthetic, client, params):
    release = synthetic(40)
    response = client.get(reverse("contributions:explore_release", args=[release.version, "open"]), params, **EN)
    assert response.status_code == 200
    assert Release.objects.filter(pk=release.pk).exists()


def test_a_bad_number_is_ignored_with_a_message(synthetic, client):
    release = synthetic(40)
    url = reverse("contributions:explore_release", args=[release.version, "open"])
    response = client.get(url, {"corpus": "abc", "min_chars": "10"}, **EN)
    assert response.context["query"].corpus is None and response.context["query"].min_chars == 10
    assert "is not a valid number" in response.content.decode()


# ---------------------------------------------------------------- corpora


def test_a_corpus_explorer_shows_training_ready_text_only(client):
    maintainer = MaintainerFactory()
    corpus = queued(UserFactory(), maintainer, generated(3, 4) + ["Écrire à jeanne@exemple.fr pour s'inscrire."])
    response = client.get(reverse("contributions:explore_corpus", args=[corpus.pk]), **EN)
    assert response.status_code == 200
    html = response.content.decode()
    assert "jeanne@exemple.fr" not in html and "&lt;EMAIL&gt;" in html
    assert response.context["summary"].total == 4
    row = client.get(reverse("contributions:explore_corpus_row", args=[corpus.pk, 3]), **EN)
    assert row.status_code == 200 and row.context["row"]["text"] == "Écrire à <EMAIL> pour s'inscrire."
    assert client.get(reverse("contributions:explore_corpus_row", args=[corpus.pk, 99])).status_code == 404


def test_an_unpublished_corpus_is_explorable_by_maintainers_only(client):
    maintainer = MaintainerFactory()
    corpus = queued(UserFactory(), maintainer, generated(3, 5))
    Corpus.objects.filter(pk=corpus.pk).update(status=CorpusStatus.WITHDRAWN)
    url = reverse("contributions:explore_corpus", args=[corpus.pk])
    row = reverse("contributions:explore_corpus_row", args=[corpus.pk, 0])
    assert client.get(url).status_code == 404 and client.get(row).status_code == 404
    client.force_login(corpus.submitter)
    assert client.get(url).status_code == 404
    client.force_login(maintainer)
    assert client.get(url).status_code == 200 and client.get(row).status_code == 200


# ---------------------------------------------------------------- synthetic releases


def _rows(n: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        corpus = 1 + i % 3
        text = document(rng) + (f" marque{i}" if i % 10 == 0 else "")
        rows.append(
            {
                "id": f"c{corpus}-v1-d{i}", "text": text, "corpus_id": corpus, "corpus_title": f"Corpus {corpus}",
                "license": ["etalab-2.0", "CC-BY-4.0", "CC0-1.0"][corpus - 1], "source": "s",
                "language": "fr" if i % 4 else "en", "domain": "web", "submitter": "p", "reviewers": ["r"],
                "processing_version": "analysis-2", "chars": len(text), "words": len(text.split()),
                "quality_flags": ["short_lines"] if i % 5 == 0 else [], "personal_data_replaced": 0,
            }
        )
    return rows


@pytest.fixture
def synthetic(db):
    """A built public release written straight with pyarrow: two files of
    small row groups, so that the search index has row groups to skip."""
    made = []

    def make(n: int, version: str = "synthetic") -> Release:
        rows = _rows(n)
        prefix = f"releases/test-{version}/attempt-1"
        files = []
        half = (n + 1) // 2
        for number, part in enumerate([rows[:half], rows[half:]]):
            path = f"data/open/train-{number:05d}.parquet"
            table = pa.Table.from_pylist(part, schema=releases.SCHEMA)
            sink = pa.BufferOutputStream()
            pq.write_table(table, sink, row_group_size=10, compression="zstd")
            default_storage.save(f"{prefix}/{path}", ContentFile(sink.getvalue().to_pybytes()))
            files.append({"path": path, "sha256": "", "bytes": 0})
        release = Release.objects.create(
            version=version, status=JobStatus.DONE, public=True, prefix=prefix, files=files,
            stats={"configs": {"open": {"documents": n, "files": 2}}, "languages": ["en", "fr"]},
        )
        made.append(rows)
        return release

    make.rows = made  # type: ignore[attr-defined]
    return make


def test_search_reads_only_the_row_groups_its_index_allows(synthetic, client):
    release = synthetic(120)
    dataset = explorer.release_dataset(release=release, config="open")
    name = dataset.files[0]
    with explorer.session() as s:
        ranges = explorer._candidate_ranges(s, name, "MARQUE30")
    assert default_storage.exists(name + explorer.INDEX_SUFFIX)
    # Row 30 sits in the fourth row group of ten rows: it may be skipped by
    # none of the others being read.
    assert (30, 39) in ranges and len(ranges) < 6
    summary = summary_of(release, "open", q="MARQUE30")
    assert summary.total == 1 and summary.hits == [(0, 30)]


def test_a_worker_indexes_its_local_copy_as_the_stored_file(synthetic, tmp_path):
    import numpy as np

    release = synthetic(60)
    name = explorer.release_dataset(release=release, config="open").files[0]
    copy = tmp_path / "copy.parquet"
    with default_storage.open(name, "rb") as handle:
        copy.write_bytes(handle.read())
    explorer.search_index_build(name=name, local_path=copy)
    from_copy = explorer._search_index(name)
    default_storage.delete(name + explorer.INDEX_SUFFIX)
    explorer._INDEXES.clear()
    explorer.search_index_build(name=name)
    from_storage = explorer._search_index(name)
    assert from_copy is not None and from_storage is not None
    assert np.array_equal(from_copy[0], from_storage[0]) and np.array_equal(from_copy[1], from_storage[1])


def test_search_without_an_index_finds_the_same_rows(synthetic, settings, monkeypatch):
    release = synthetic(120)
    monkeypatch.setattr(explorer, "INLINE_INDEX_MAX_BYTES", 0)
    without = summary_of(release, "open", q="marque")
    assert not default_storage.exists(
        explorer.release_dataset(release=release, config="open").files[0] + explorer.INDEX_SUFFIX
    )
    monkeypatch.setattr(explorer, "INLINE_INDEX_MAX_BYTES", 10**9)
    from django.core.cache import cache

    cache.clear()
    indexed = summary_of(release, "open", q="marque")
    expected = [i for i, r in enumerate(_rows(120)) if "marque" in r["text"].lower()]
    assert without.total == indexed.total == len(expected) and without.hits == indexed.hits
    assert [f * 60 + r for f, r in indexed.hits] == expected


def test_storages_without_paths_are_read_by_byte_ranges(synthetic):
    """What an S3 storage goes through: DuckDB reads the files through the
    fsspec file system, not from a path."""
    release = synthetic(60)
    dataset = explorer.release_dataset(release=release, config="open")
    with explorer.session(local=False) as s:
        summary = explorer.explorer_summary(s=s, dataset=dataset, query=explorer.Query(language="en"))
        row = explorer.explorer_row(s=s, dataset=dataset, row_id="c1-v1-d30")
    assert summary.total == sum(1 for r in _rows(60) if r["language"] == "en")
    assert row is not None and row["text"] == _rows(60)[30]["text"]


def test_a_long_search_stops_at_its_budget_and_says_so(synthetic, client, monkeypatch):
    release = synthetic(120)
    monkeypatch.setattr(explorer, "SEARCH_CHUNK_ROWS", 10)
    monkeypatch.setattr(explorer, "SEARCH_BUDGET_SECONDS", 0.0)
    response = client.get(reverse("contributions:explore_release", args=[release.version, "open"]), {"q": "e"}, **EN)
    summary = response.context["summary"]
    # One piece of ten rows read, then the budget was spent.
    assert summary.partial and summary.total == 10
    assert "the search stopped early" in response.content.decode()


def test_an_s3_storage_is_asked_for_byte_ranges_only(monkeypatch):
    asked = []

    class Body:
        def read(self):
            return b"0123456789"

    class S3Object:
        def __init__(self, key):
            self.key = key

        def get(self, Range):  # noqa: N803 - boto3's name
            asked.append((self.key, Range))
            return {"Body": Body()}

    class Bucket:
        def Object(self, key):  # noqa: N802 - boto3's name
            return S3Object(key)

    class S3Like:
        bucket = Bucket()

        def _normalize_name(self, name):
            return "media/" + name

    monkeypatch.setattr(explorer, "default_storage", S3Like())
    assert explorer._read_range("releases/1/data/open/train-00000.parquet", 100, 110) == b"0123456789"
    assert asked == [("media/releases/1/data/open/train-00000.parquet", "bytes=100-109")]


def test_a_query_past_its_time_is_stopped_not_failed(synthetic, client, monkeypatch):
    release = synthetic(40)
    monkeypatch.setattr(explorer, "TIME_LIMIT_SECONDS", 0.0)
    response = client.get(reverse("contributions:explore_release", args=[release.version, "open"]), **EN)
    assert response.status_code == 200 and response.context["timed_out"]
    assert "took too long" in response.content.decode()


def test_a_missing_file_is_reported_not_failed(synthetic, client):
    release = synthetic(40)
    dataset = explorer.release_dataset(release=release, config="open")
    default_storage.delete(dataset.files[1])
    response = client.get(reverse("contributions:explore_release", args=[release.version, "open"]), **EN)
    assert response.status_code == 200 and response.context["unavailable"]
    row_url = reverse("contributions:explore_release_row", args=[release.version, "open", "c1-v1-d0"])
    assert client.get(row_url, **EN).status_code == 503


def test_a_private_release_cannot_be_explored(synthetic, client):
    release = synthetic(20)
    Release.objects.filter(pk=release.pk).update(public=False)
    url = reverse("contributions:explore_release", args=[release.version, "open"])
    assert client.get(url).status_code == 404
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(MaintainerFactory())
    assert client.get(url).status_code == 200


def test_summaries_are_cached(synthetic, client, monkeypatch):
    release = synthetic(40)
    url = reverse("contributions:explore_release", args=[release.version, "open"])
    client.get(url, {"q": "marque"})
    calls = []
    monkeypatch.setattr(explorer, "_search", lambda *a, **k: calls.append(1))
    assert client.get(url, {"q": "marque", "page": 1}).status_code == 200
    assert not calls


@pytest.mark.parametrize("count", [30, 300])
def test_explorer_queries_are_bounded(synthetic, client, django_assert_max_num_queries, count):
    release = synthetic(count, version=f"size-{count}")
    signed_in(client, UserFactory())
    with django_assert_max_num_queries(7):
        assert client.get(reverse("contributions:explore_release", args=[release.version, "open"])).status_code == 200
    with django_assert_max_num_queries(7):
        url = reverse("contributions:explore_release_row", args=[release.version, "open", "c1-v1-d0"])
        assert client.get(url).status_code == 200


@pytest.mark.parametrize("count", [3, 30])
def test_corpus_explorer_queries_are_bounded(client, django_assert_max_num_queries, count):
    corpus = queued(UserFactory(), MaintainerFactory(), generated(count, 6))
    assert TrainingVersion.objects.filter(corpus=corpus, status=JobStatus.DONE).exists()
    with django_assert_max_num_queries(4):
        assert client.get(reverse("contributions:explore_corpus", args=[corpus.pk])).status_code == 200


def test_workers_index_what_they_write(built):
    release, first, _second, _restricted = built
    shards = TrainingVersion.objects.get(corpus=first).shards
    parquet = [f"{release.prefix}/{e['path']}" for e in release.files if e["path"].endswith(".parquet")]
    assert shards and parquet
    for name in shards + parquet:
        assert default_storage.exists(name + explorer.INDEX_SUFFIX), name


def test_a_query_page_is_rendered_once_then_read_from_the_cache(synthetic, client, monkeypatch):
    release = synthetic(40)
    url = reverse("contributions:explore_release", args=[release.version, "open"])
    first = client.get(url, {"q": "marque", "page": 9}, **EN)
    assert first.status_code == 200
    opened = []
    monkeypatch.setattr(explorer, "session", lambda **kwargs: opened.append(1))
    again = client.get(url, {"q": "marque", "page": 9}, **EN)
    assert not opened
    body = first.content.decode().split("<main", 1)[1].split("</main>")[0]
    assert body == again.content.decode().split("<main", 1)[1].split("</main>")[0]
    # The message about the page asked is said again.
    assert "There is no page 9" in again.content.decode()
    # Another page, another query: read from the files.
    with pytest.raises(TypeError):
        client.get(url, {"q": "marque", "page": 2}, **EN)
    assert opened


def test_a_cached_page_shows_restricted_text_to_members_only(built, client):
    release, _first, _second, _restricted = built
    marked = next(r for r in release_rows(release, "restricted") if LONG_MARK in r["text"].lower())
    url = reverse("contributions:explore_release", args=[release.version, "restricted"])
    shown = escape(marked["text"][:40])
    client.force_login(UserFactory())
    assert shown in client.get(url, **EN).content.decode()
    assert client.get(url, {"q": LONG_MARK}, **EN).context["summary"].total == 1
    client.logout()
    assert shown not in client.get(url, **EN).content.decode()
    assert client.get(url, {"q": LONG_MARK}, **EN).context["summary"].total == 0


def test_a_cached_page_drops_a_corpus_unpublished_since(built, client):
    release, _first, second, _restricted = built
    url = reverse("contributions:explore_release", args=[release.version, "open"])
    assert "Second" in client.get(url, {"corpus": second.pk}, **EN).content.decode()
    lifecycle.corpus_transition(corpus_id=second.pk, to=CorpusStatus.WITHDRAWN, actor=MaintainerFactory(),
                                comment="Unpublished after a report.", reason="")
    page = client.get(url, {"corpus": second.pk}, **EN)
    assert page.context["summary"].total == 0 and "No row matches this query." in page.content.decode()


def test_quality_flags_are_named_in_plain_words(synthetic, client):
    release = synthetic(10)
    url = reverse("contributions:explore_release", args=[release.version, "open"])
    html = client.get(url, {"flag": "short_lines"}, **EN).content.decode()
    # Named only: the code is not shown, not even in a tooltip.
    assert '<span class="badge">mostly very short lines</span>' in html and 'title="short_lines"' not in html
    assert '<option value="short_lines" selected>mostly very short lines</option>' in html
