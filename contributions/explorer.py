"""The data explorer: a release config's, or an accepted corpus's
training-ready, Parquet files read in place with DuckDB, like the Hugging Face
dataset viewer (which runs on DuckDB too).

Reads never load a whole file: DuckDB reads only the columns and the row
groups a query needs, straight from the files. A local storage
(``FileSystemStorage``) gives DuckDB the files' paths. Any other storage
(S3) is read through an fsspec file system registered on the connection that
asks the storage for byte ranges: DuckDB's own ``httpfs`` extension is not
part of the wheel and cannot be installed offline, so the slower
Python-side reads are the price of needing nothing else.

Every query is built from constants of this module; what a visitor types is
always a bound parameter. Each thread keeps one connection (memory limit,
two threads), and each statement is interrupted past the request's
deadline, so a hostile query costs at most that much.

Searching text (case-insensitive substring) would scan every byte of every
document: about 5 s a GB here. So each Parquet file gets, once, a *search
index* next to it in storage: for each row group, a bitmap of the (hashed)
byte trigrams of its lowercased text. A search reads only the row groups
whose bitmap holds every trigram of the query, a few thousand rows at a
time, and stops once it has found COUNT_CAP + 1 rows ("more than 1,000") or
spent SEARCH_BUDGET_SECONDS (then it says it is partial): rare words skip
nearly everything, common ones end early. Filters without a search read
only the small columns, and their counts are exact.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import logging
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _
from fsspec.spec import AbstractBufferedFile, AbstractFileSystem  # type: ignore[import-untyped]

from .lifecycle import PUBLISHED, last_status_change
from .models import RESTRICTED_LICENSES, Corpus, JobStatus, Release, TrainingVersion
from .texts import GroupedNumber

logger = logging.getLogger(__name__)

PAGE_SIZE = 100
# A search counts (and draws its distributions from) at most this many rows:
# its cost grows with the rows it reads to find them (about 20 ms a
# thousand rows of text on one core), filters on the small columns do not.
COUNT_CAP = 1_000
PREVIEW_CHARS = 300
TOP = 10
MEMORY_LIMIT = "256MB"
THREADS = 2
# The time one request may spend in DuckDB, all statements together.
TIME_LIMIT_SECONDS = 5.0
CACHE_SECONDS = 600
FACETS_CACHE_SECONDS = 24 * 3600
# A search reads this many rows at a time, and starts no new piece past
# its budget: what it found so far is then shown as such.
SEARCH_CHUNK_ROWS = 4_000
SEARCH_BUDGET_SECONDS = 0.5
MAX_QUERY_CHARS = 200
MAX_VALUE_CHARS = 64
# Document lengths (characters) of the histogram's bars.
LENGTH_EDGES = [0, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000]

INDEX_SUFFIX = ".search-index.npz"
INDEX_BITS = 18
# Indexing costs about 20 s a GB of text here: workers build the index of
# what they write; a request builds one itself only for a small file (16 MB
# of Parquet, about 50 MB of text: a second or two).
INLINE_INDEX_MAX_BYTES = 16 * 1024**2
REMOTE_PROTOCOL = "openllmstorage"


class ExplorerError(Exception):
    """The files could not be read (missing, damaged): logged, and the page
    says so instead of failing."""


class ExplorerTimeout(ExplorerError):
    """A query ran past the request's time limit and was interrupted."""


@dataclass(frozen=True)
class Dataset:
    """Parquet files that the explorer reads as one table. ``kind`` says
    which columns they have: a release's (``releases.SCHEMA``) or a
    training-ready version's (``training.TRAINING_SCHEMA``), where the
    corpus's own fields are constants."""

    files: tuple[str, ...]
    kind: str  # "release" or "corpus"
    corpus_id: int = 0
    corpus_title: str = ""
    license: str = ""
    # Corpora unpublished since the release was built: their rows are not shown.
    hidden_corpora: tuple[int, ...] = ()


@dataclass(frozen=True)
class Query:
    q: str = ""
    language: str = ""
    license: str = ""
    corpus: int | None = None
    flag: str = ""
    min_chars: int | None = None
    max_chars: int | None = None
    page: int = 1
    # Visitors who are not signed in never search inside restricted text.
    restricted_text: bool = True

    @property
    def searching(self) -> bool:
        return bool(self.q)

    def key(self) -> dict:
        """What the summary depends on: not the page, and whether restricted
        text is searched only when searching."""
        ignored = {"page"} if self.searching else {"page", "restricted_text"}
        return {k: v for k, v in asdict(self).items() if k not in ignored}


@dataclass
class Summary:
    """What a query matches: the count (at most COUNT_CAP + 1 rows looked at
    when searching) and the distributions shown beside the rows."""

    total: int
    capped: bool
    # The search stopped at its time budget before reading every row.
    partial: bool = False
    languages: list[tuple[str, int]] = field(default_factory=list)
    licenses: list[tuple[str, int]] = field(default_factory=list)
    corpora: list[tuple[int, str, int]] = field(default_factory=list)
    flags: list[tuple[str, int]] = field(default_factory=list)
    lengths: list[tuple[str, int]] = field(default_factory=list)
    # A search's rows, in order: (file number, row number in the file).
    hits: list[tuple[int, int]] | None = None

    @property
    def pages(self) -> int:
        return max(1, -(-min(self.total, COUNT_CAP) // PAGE_SIZE))


# ---------------------------------------------------------------- datasets


def release_configs(*, release: Release) -> dict[str, int]:
    return {name: int(c.get("documents", 0)) for name, c in (release.stats or {}).get("configs", {}).items()}


def release_dataset(*, release: Release, config: str) -> Dataset | None:
    """The files of one config of a built release, or None."""
    if release.status != JobStatus.DONE or config not in release_configs(release=release):
        return None
    prefix = f"data/{config}/"
    files = tuple(
        f"{release.prefix}/{entry['path']}"
        for entry in sorted(release.files, key=lambda e: e["path"])
        if entry["path"].startswith(prefix) and entry["path"].endswith(".parquet")
    )
    if not files:
        return None
    return Dataset(files=files, kind="release", hidden_corpora=_hidden_corpora(release))


def _hidden_corpora(release: Release) -> tuple[int, ...]:
    """The corpora of a release that are no longer published, kept in the
    cache until the next change of status of any corpus: reading them is a
    join of every entry of the release."""
    key = f"explorer:hidden:1:{release.pk}:{last_status_change()}"
    hidden = cache.get(key)
    if hidden is None:
        # Without the entries' default ordering, which would join the releases.
        rows = release.entries.exclude(corpus__status__in=PUBLISHED).order_by().values_list("corpus_id", flat=True)
        hidden = tuple(sorted(rows))
        cache.set(key, hidden, FACETS_CACHE_SECONDS)
    return hidden


def corpus_training_version(*, corpus: Corpus) -> TrainingVersion | None:
    return (
        TrainingVersion.objects.filter(corpus=corpus, corpus_version=corpus.version, status=JobStatus.DONE)
        .order_by("-created_at")
        .first()
    )


def corpus_dataset(*, corpus: Corpus) -> Dataset | None:
    """The training-ready version of the corpus's current version: text with
    placeholders, never the raw personal data."""
    version = corpus_training_version(corpus=corpus)
    if version is None or not version.shards:
        return None
    return Dataset(
        files=tuple(version.shards), kind="corpus", corpus_id=corpus.id, corpus_title=corpus.title,
        license=corpus.license,
    )


# ---------------------------------------------------------------- parameters


def _int(params: Mapping[str, str], name: str, errors: list[str], *, minimum: int = 0) -> int | None:
    raw = (params.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum or value > 2**62:
        errors.append(_("“%(value)s” is not a valid number for %(name)s: ignored.") % {"value": raw[:20], "name": name})
        return None
    return value


def _text(params: Mapping[str, str], name: str, errors: list[str], limit: int = MAX_VALUE_CHARS) -> str:
    value = (params.get(name) or "").strip().replace("\x00", "")
    if len(value) > limit:
        errors.append(_("%(name)s was cut to %(limit)s characters.") % {"name": name, "limit": GroupedNumber(limit)})
        value = value[:limit]
    return value


def query_parse(*, params: Mapping[str, str], restricted_text: bool) -> tuple[Query, list[str]]:
    """The query in a URL's parameters, and what was wrong with them
    (ignored, never an error)."""
    errors: list[str] = []
    query = Query(
        q=_text(params, "q", errors, MAX_QUERY_CHARS),
        language=_text(params, "language", errors),
        license=_text(params, "license", errors),
        corpus=_int(params, "corpus", errors),
        flag=_text(params, "flag", errors),
        min_chars=_int(params, "min_chars", errors),
        max_chars=_int(params, "max_chars", errors),
        page=_int(params, "page", errors, minimum=1) or 1,
        restricted_text=restricted_text,
    )
    return query, errors


# ---------------------------------------------------------------- DuckDB


class _RangeFile(AbstractBufferedFile):
    def _fetch_range(self, start: int, end: int) -> bytes:
        return _read_range(self.path, start, end)


class _StorageFileSystem(AbstractFileSystem):
    """Django's default storage as an fsspec file system, for DuckDB: only
    the byte ranges DuckDB asks for are read."""

    protocol = REMOTE_PROTOCOL

    def _name(self, path: str) -> str:
        return path.split("://", 1)[-1]

    def info(self, path: str, **kwargs: Any) -> dict:
        return {"name": path, "size": default_storage.size(self._name(path)), "type": "file"}

    def modified(self, path: str) -> datetime.datetime:
        # Stored files never change: a fixed date is as good as any.
        return datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list:
        return [self.info(path)] if detail else [path]

    def _open(self, path: str, mode: str = "rb", block_size: int | None = None, **kwargs: Any) -> _RangeFile:
        return _RangeFile(self, self._name(path), mode, block_size=block_size or 4 * 1024**2,
                          cache_type="readahead", size=self.info(path)["size"])


def _read_range(name: str, start: int, end: int) -> bytes:
    """Bytes [start, end) of a stored file. S3 is asked for that range only;
    other storages are read through a seek."""
    bucket = getattr(default_storage, "bucket", None)
    if bucket is not None and hasattr(default_storage, "_normalize_name"):
        from storages.utils import clean_name

        # The object's key as django-storages names it (its LOCATION prefix).
        key = default_storage._normalize_name(clean_name(name))
        return bucket.Object(key).get(Range=f"bytes={start}-{end - 1}")["Body"].read()
    with default_storage.open(name, "rb") as handle:
        handle.seek(start)
        return handle.read(end - start)


def _local() -> bool:
    try:
        default_storage.path("x")
    except NotImplementedError:
        return False
    return True


def _location(name: str, *, local: bool) -> str:
    return default_storage.path(name) if local else f"{REMOTE_PROTOCOL}://{name}"


def _connect(local: bool) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(
        ":memory:",
        config={
            "memory_limit": MEMORY_LIMIT,
            # Past the memory limit DuckDB spills to disk: under var/, not
            # into ".tmp" of whatever directory the process started in.
            "temp_directory": str(settings.JOB_WORK_DIR / "duckdb"),
            "threads": THREADS,
            "preserve_insertion_order": True,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        },
    )
    connection.execute("LOAD parquet")
    # Files never change: their footers are read once per connection.
    connection.execute("SET parquet_metadata_cache = true")
    if not local:
        connection.register_filesystem(_StorageFileSystem())
    return connection


# One connection per thread, kept between requests: opening one costs
# 30-50 ms, and a kept one remembers the files' footers. A request that
# fails or is interrupted closes it, and the next opens a fresh one.
_connections = threading.local()


class _Session:
    """The thread's DuckDB connection for one request, with its deadline."""

    def __init__(self, *, local: bool | None = None, time_limit: float | None = None) -> None:
        self.local = _local() if local is None else local
        self.deadline = time.monotonic() + (TIME_LIMIT_SECONDS if time_limit is None else time_limit)
        kept = getattr(_connections, "by_kind", None)
        if kept is None:
            kept = _connections.by_kind = {}
        if self.local not in kept:
            kept[self.local] = _connect(self.local)
        self.connection = kept[self.local]

    def location(self, name: str) -> str:
        return _location(name, local=self.local)

    def execute(self, sql: str, params: dict | None = None) -> duckdb.DuckDBPyConnection:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise ExplorerTimeout
        timer = threading.Timer(remaining, self.connection.interrupt)
        timer.start()
        try:
            return self.connection.execute(sql, params or {})
        except duckdb.InterruptException as exc:
            raise ExplorerTimeout from exc
        except duckdb.Error as exc:
            logger.exception("explorer query failed")
            raise ExplorerError(str(exc)) from exc
        finally:
            timer.cancel()

    def fetchall(self, sql: str, params: dict | None = None) -> list[tuple]:
        return self.execute(sql, params).fetchall()

    def finish(self, *, failed: bool) -> None:
        if failed:
            _connections.by_kind.pop(self.local, None)
            self.connection.close()
        else:
            self.connection.execute("DROP TABLE IF EXISTS hits")


@contextmanager
def session(**kwargs: Any) -> Iterator[_Session]:
    s = _Session(**kwargs)
    try:
        yield s
    except BaseException:
        s.finish(failed=True)
        raise
    s.finish(failed=False)


# The columns every query sees, whatever the kind of files.
_COLUMNS = {
    "release": (
        "id, text, corpus_id, corpus_title, license, language, domain, source, submitter, chars, words, "
        "quality_flags, personal_data_replaced"
    ),
    "corpus": (
        "CAST(doc_index AS VARCHAR) AS id, doc_index, text, CAST($corpus_id AS BIGINT) AS corpus_id, "
        "CAST($corpus_title AS VARCHAR) AS corpus_title, CAST($corpus_license AS VARCHAR) AS license, language, "
        "source, chars, words, flags AS quality_flags, personal_data_replaced"
    ),
}


def _base(dataset: Dataset, files_param: str = "files") -> str:
    return (
        f"(SELECT {_COLUMNS[dataset.kind]}, filename AS _file, file_row_number AS _row "
        f"FROM read_parquet(${files_param}, file_row_number = true, filename = true)) AS t"
    )


def _base_params(dataset: Dataset, s: _Session, files: tuple[str, ...] | None = None) -> dict:
    params: dict[str, Any] = {"files": [s.location(name) for name in (files or dataset.files)]}
    if dataset.kind == "corpus":
        params.update(corpus_id=dataset.corpus_id, corpus_title=dataset.corpus_title, corpus_license=dataset.license)
    return params


def _conditions(dataset: Dataset, query: Query) -> tuple[list[str], dict]:
    where: list[str] = []
    params: dict[str, Any] = {}
    if dataset.hidden_corpora:
        where.append("NOT list_contains($hidden, corpus_id)")
        params["hidden"] = list(dataset.hidden_corpora)
    if query.language:
        where.append("language = $language")
        params["language"] = query.language
    if query.license:
        where.append("license = $license")
        params["license"] = query.license
    if query.corpus is not None:
        where.append("corpus_id = $corpus")
        params["corpus"] = query.corpus
    if query.flag:
        where.append("list_contains(quality_flags, $flag)")
        params["flag"] = query.flag
    if query.min_chars is not None:
        where.append("chars >= $min_chars")
        params["min_chars"] = query.min_chars
    if query.max_chars is not None:
        where.append("chars <= $max_chars")
        params["max_chars"] = query.max_chars
    if query.q:
        where.append("contains(lower(text), lower($q))")
        params["q"] = query.q
        if not query.restricted_text:
            where.append("NOT list_contains($restricted, license)")
            params["restricted"] = sorted(RESTRICTED_LICENSES)
    return where, params


def _where(where: list[str]) -> str:
    return " WHERE " + " AND ".join(where) if where else ""


_BUCKET = "CASE " + " ".join(
    f"WHEN chars < {high} THEN {index}" for index, high in enumerate(LENGTH_EDGES[1:])
) + f" ELSE {len(LENGTH_EDGES) - 1} END"


def _length_label(index: int) -> str:
    low = LENGTH_EDGES[index]
    if index + 1 < len(LENGTH_EDGES):
        return f"{low:,}–{LENGTH_EDGES[index + 1] - 1:,}".replace(",", " ")
    return f"≥ {low:,}".replace(",", " ")


def _distributions(s: _Session, relation: str, params: dict, summary: Summary) -> int:
    """Languages, licenses, corpora, lengths and flags, in one pass over
    the small columns (grouping sets); returns the number of rows. Flags
    are grouped by their combination (there are few), then added up."""
    rows = s.fetchall(
        f"SELECT GROUPING(language, license, corpus_id, corpus_title, bucket, quality_flags) AS g, language, "
        f"license, corpus_id, corpus_title, bucket, quality_flags, count(*) FROM (SELECT language, license, "
        f"corpus_id, corpus_title, {_BUCKET} AS bucket, quality_flags FROM {relation}) GROUP BY GROUPING SETS "
        f"((language), (license), (corpus_id, corpus_title), (bucket), (quality_flags), ())",
        params,
    )
    languages, licenses, corpora, buckets, total = [], [], [], {}, 0
    flags: Counter[str] = Counter()
    for g, language, license, corpus_id, title, bucket, combination, n in rows:
        if g == 0b011111:
            languages.append((language or "?", n))
        elif g == 0b101111:
            licenses.append((license or "?", n))
        elif g == 0b110011:
            corpora.append((corpus_id, title or "", n))
        elif g == 0b111101 and bucket is not None:
            buckets[bucket] = n
        elif g == 0b111110:
            for flag in set(combination or []):
                flags[flag] += n
        elif g == 0b111111:
            total = n
    summary.languages = sorted(languages, key=lambda x: (-x[1], x[0]))[:TOP]
    summary.licenses = sorted(licenses, key=lambda x: (-x[1], x[0]))[:TOP]
    summary.corpora = sorted(corpora, key=lambda x: (-x[2], x[0]))[:TOP]
    summary.flags = sorted(flags.items(), key=lambda x: (-x[1], x[0]))[:TOP]
    if buckets:
        last = max(buckets)
        summary.lengths = [(_length_label(i), buckets.get(i, 0)) for i in range(min(buckets), last + 1)]
    return total


# ---------------------------------------------------------------- search index


def _trigram_hashes(data: np.ndarray) -> np.ndarray:
    """The hash of each byte trigram of ``data`` (uint8), on INDEX_BITS bits."""
    n = len(data)
    if n < 3:
        return np.empty(0, np.uint32)
    padded = np.zeros(n + 1, np.uint8)
    padded[:n] = data
    # Each position's 4 bytes read as one little-endian integer (a strided
    # view, no loop), of which the low three are the trigram.
    windows = np.ndarray(shape=(n - 2,), dtype="<u4", buffer=padded, strides=(1,))
    codes = windows & np.uint32(0xFFFFFF)
    codes *= np.uint32(2654435761)
    codes >>= np.uint32(32 - INDEX_BITS)
    return codes


def _lower_bytes(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    lowered = pc.utf8_lower(values)
    if isinstance(lowered, pa.ChunkedArray):
        lowered = lowered.combine_chunks()
    lowered = lowered.cast(pa.large_string())
    buffers = lowered.buffers()
    if buffers[2] is None:
        return np.empty(0, np.uint8)
    offsets = np.frombuffer(buffers[1], np.int64)[lowered.offset : lowered.offset + len(lowered) + 1]
    return np.frombuffer(buffers[2], np.uint8)[offsets[0] : offsets[-1]]


def _open_parquet(name: str) -> pq.ParquetFile:
    if _local():
        return pq.ParquetFile(default_storage.path(name))
    return pq.ParquetFile(_StorageFileSystem().open(f"{REMOTE_PROTOCOL}://{name}", "rb"))


def search_index_build(*, name: str, local_path: Path | None = None) -> str:
    """Write the search index of one stored Parquet file next to it (once:
    a file never changes), and return its stored name. Workers call it for
    what they write, with ``local_path`` the copy they still have (read
    instead of the stored one); it reads one row group at a time."""
    target = name + INDEX_SUFFIX
    if default_storage.exists(target):
        return target
    parquet = pq.ParquetFile(local_path) if local_path is not None else _open_parquet(name)
    column = "text"
    bitmaps = np.zeros((parquet.metadata.num_row_groups, (1 << INDEX_BITS) // 8), np.uint8)
    starts = np.zeros(parquet.metadata.num_row_groups + 1, np.int64)
    bits = np.zeros(1 << INDEX_BITS, np.bool_)
    for group in range(parquet.metadata.num_row_groups):
        starts[group + 1] = starts[group] + parquet.metadata.row_group(group).num_rows
        bits[:] = False
        bits[_trigram_hashes(_lower_bytes(parquet.read_row_group(group, columns=[column]).column(0)))] = True
        bitmaps[group] = np.packbits(bits, bitorder="little")
    buffer = io.BytesIO()
    np.savez(buffer, bitmaps=bitmaps, starts=starts)
    saved = default_storage.save(target, ContentFile(buffer.getvalue()))
    if saved != target:  # another process wrote it meanwhile: keep theirs
        default_storage.delete(saved)
    return target


# Loaded indexes, by file name (4.5 MB for a shard of 500 MB of text): files
# and their indexes never change, so a process keeps the last few it used.
_INDEXES: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_INDEXES_KEPT = 16
_INDEXES_LOCK = threading.Lock()


def _search_index(name: str) -> tuple[np.ndarray, np.ndarray] | None:
    with _INDEXES_LOCK:
        if name in _INDEXES:
            _INDEXES.move_to_end(name)
            return _INDEXES[name]
    target = name + INDEX_SUFFIX
    if not default_storage.exists(target):
        return None
    with default_storage.open(target, "rb") as handle:
        data = np.load(io.BytesIO(handle.read()))
        index = data["bitmaps"], data["starts"]
    with _INDEXES_LOCK:
        _INDEXES[name] = index
        while len(_INDEXES) > _INDEXES_KEPT:
            _INDEXES.popitem(last=False)
    return index


def _index_for(name: str) -> tuple[np.ndarray, np.ndarray] | None:
    found = _search_index(name)
    if found is not None or default_storage.size(name) > INLINE_INDEX_MAX_BYTES:
        return found
    # A small file is indexed now, by one request at a time.
    if not cache.add(f"explorer:indexing:{name}", 1, 120):
        return None
    try:
        search_index_build(name=name)
    finally:
        cache.delete(f"explorer:indexing:{name}")
    return _search_index(name)


def _split(first: int, last: int, starts: np.ndarray | None = None) -> list[tuple[int, int]]:
    """``first..last`` in pieces of about SEARCH_CHUNK_ROWS rows, cut at row
    group boundaries when they are known."""
    pieces = []
    while first <= last:
        end = min(last, first + SEARCH_CHUNK_ROWS - 1)
        if starts is not None and end < last:
            # The end of the row group that holds ``end``.
            end = min(last, int(starts[np.searchsorted(starts, end, side="right")]) - 1)
        pieces.append((first, end))
        first = end + 1
    return pieces


def _candidate_ranges(s: _Session, name: str, q: str) -> list[tuple[int, int]]:
    """Row numbers (first, last) of the row groups of a file that may hold
    ``q``, in order and in pieces of about SEARCH_CHUNK_ROWS rows; every row
    when the file has no index."""
    index = _index_for(name)
    if index is None:
        ((rows,),) = s.fetchall("SELECT count(*) FROM read_parquet($files)", {"files": [s.location(name)]})
        return _split(0, rows - 1)
    bitmaps, starts = index
    # Lowered as the search itself lowers it (pyarrow's first lowering
    # costs 0.7 s of set-up in a process; workers pay it when indexing).
    ((lowered,),) = s.fetchall("SELECT lower($q)", {"q": q})
    hashes = np.unique(_trigram_hashes(np.frombuffer(lowered.encode(), np.uint8)))
    groups = np.arange(len(bitmaps))
    if len(hashes):
        present = (bitmaps[:, hashes >> 3] >> (hashes & 7).astype(np.uint8)) & 1
        groups = np.nonzero(present.all(axis=1))[0]
    ranges: list[tuple[int, int]] = []
    for group in groups.tolist():
        first, last = int(starts[group]), int(starts[group + 1]) - 1
        if ranges and ranges[-1][1] + 1 == first:
            ranges[-1] = (ranges[-1][0], last)
        else:
            ranges.append((first, last))
    return [piece for first, last in ranges for piece in _split(first, last, starts)]


# ---------------------------------------------------------------- queries


_HIT_COLUMNS = "language, license, corpus_id, corpus_title, chars, quality_flags"


def _search(s: _Session, dataset: Dataset, query: Query) -> Summary:
    """Rows matching a text search, file by file, only in the row groups the
    index leaves and a few thousand rows at a time, until COUNT_CAP + 1 are
    found or SEARCH_BUDGET_SECONDS have passed (then the result says it is
    partial). They are kept in a temporary table that the distributions
    then read."""
    started = time.monotonic()
    where, params = _conditions(dataset, query)
    s.execute(
        "CREATE OR REPLACE TEMP TABLE hits (_file INTEGER, _row BIGINT, language VARCHAR, license VARCHAR, "
        "corpus_id BIGINT, corpus_title VARCHAR, chars BIGINT, quality_flags VARCHAR[])"
    )
    found, partial, pieces = 0, False, 0
    for number, name in enumerate(dataset.files):
        for first, last in _candidate_ranges(s, name, query.q):
            if pieces and time.monotonic() - started > SEARCH_BUDGET_SECONDS:
                partial = True
                break
            pieces += 1
            local = {**_base_params(dataset, s, (name,)), **params, "number": number, "first": first, "last": last}
            ((inserted,),) = s.fetchall(
                f"INSERT INTO hits SELECT $number, _row, {_HIT_COLUMNS} FROM {_base(dataset)}"
                f"{_where([*where, '_row BETWEEN $first AND $last'])} LIMIT {COUNT_CAP + 1 - found}",
                local,
            )
            found += inserted
            if found > COUNT_CAP:
                break
        if found > COUNT_CAP or partial:
            break
    kept = f"(SELECT * FROM hits ORDER BY _file, _row LIMIT {COUNT_CAP})"
    hits = s.fetchall(f"SELECT _file, _row FROM {kept}")
    summary = Summary(
        total=min(found, COUNT_CAP), capped=found > COUNT_CAP, partial=partial and found <= COUNT_CAP,
        hits=[(f, r) for f, r in hits],
    )
    if hits:
        _distributions(s, kept, {}, summary)
    return summary


def _browse(s: _Session, dataset: Dataset, query: Query) -> Summary:
    where, params = _conditions(dataset, query)
    summary = Summary(total=0, capped=False)
    params = {**_base_params(dataset, s), **params}
    summary.total = _distributions(s, f"{_base(dataset)}{_where(where)}", params, summary)
    return summary


# Bumped when Summary changes: a cached one of another shape is not read.
SUMMARY_VERSION = 1


def _cache_key(dataset: Dataset, query: Query) -> str:
    raw = json.dumps([SUMMARY_VERSION, asdict(dataset), query.key()], sort_keys=True, default=str)
    return "explorer:summary:" + hashlib.sha256(raw.encode()).hexdigest()


def page_cache_key(*, dataset: Dataset, query: Query, variant: list[str]) -> str:
    """The cache key of a query's whole page: the dataset (files and hidden
    corpora), every field of the query (the page and whether restricted
    text is shown included) and what else the page shows (``variant``)."""
    raw = json.dumps([SUMMARY_VERSION, asdict(dataset), asdict(query), variant], sort_keys=True, default=str)
    return "explorer:page:" + hashlib.sha256(raw.encode()).hexdigest()


def explorer_summary(*, s: _Session, dataset: Dataset, query: Query) -> Summary:
    """The count and distributions of a query, cached a while: the files
    never change."""
    key = _cache_key(dataset, query)
    cached = cache.get(key)
    if cached is not None:
        return Summary(**cached)
    summary = _search(s, dataset, query) if query.searching else _browse(s, dataset, query)
    # The whole dataset's (what every page shows beside the filters) is
    # kept a day: the files never change.
    cache.set(key, dict(summary.__dict__), FACETS_CACHE_SECONDS if query.key() == Query().key() else CACHE_SECONDS)
    return summary


_ROW_COLUMNS = (
    "_row, id, corpus_id, corpus_title, license, language, chars, words, quality_flags, personal_data_replaced, source"
)


def _fetch(s: _Session, dataset: Dataset, keys: list[tuple[int, int]], text: str) -> list[dict]:
    """The rows at ``keys`` (file number, row number), in that order."""
    by_file: dict[int, list[int]] = {}
    for number, row in keys:
        by_file.setdefault(number, []).append(row)
    found: dict[tuple[int, int], dict] = {}
    for number, rows in by_file.items():
        params = {**_base_params(dataset, s, (dataset.files[number],)), "rows": rows}
        result = s.execute(
            f"SELECT {_ROW_COLUMNS}, {text} AS text FROM {_base(dataset)} WHERE _row IN (SELECT unnest($rows))",
            params,
        )
        names = [d[0] for d in result.description]
        for values in result.fetchall():
            item = dict(zip(names, values, strict=True))
            found[number, item.pop("_row")] = item
    return [found[key] for key in keys if key in found]


def explorer_page(*, s: _Session, dataset: Dataset, query: Query, summary: Summary) -> list[dict]:
    """The page's rows with the beginning of their text: keys first, from
    the small columns, then the text of those hundred rows only."""
    page = min(query.page, summary.pages)
    offset = (page - 1) * PAGE_SIZE
    if summary.hits is not None:
        keys = summary.hits[offset : offset + PAGE_SIZE]
    elif summary.total:
        where, params = _conditions(dataset, query)
        params = {**_base_params(dataset, s), **params}
        numbers = {s.location(name): n for n, name in enumerate(dataset.files)}
        found = s.fetchall(
            f"SELECT _file, _row FROM {_base(dataset)}{_where(where)} LIMIT {PAGE_SIZE} OFFSET {int(offset)}", params
        )
        keys = [(numbers[file], row) for file, row in found]
    else:
        keys = []
    rows = _fetch(s, dataset, keys, f"left(text, {PREVIEW_CHARS})")
    for row in rows:
        row["truncated"] = (row["chars"] or 0) > PREVIEW_CHARS
        row["restricted"] = row["license"] in RESTRICTED_LICENSES
    return rows


def explorer_row(*, s: _Session, dataset: Dataset, row_id: str) -> dict | None:
    """One row, with its whole text."""
    value: int | str = row_id
    condition = "id = $value"
    if dataset.kind == "corpus":
        try:
            value = int(row_id)
        except ValueError:
            return None
        condition = "doc_index = $value"
    where, params = _conditions(dataset, Query())
    params = {**_base_params(dataset, s), **params, "value": value}
    result = s.execute(
        f"SELECT {_ROW_COLUMNS}, text FROM {_base(dataset)}{_where([*where, condition])} LIMIT 1", params
    )
    names = [d[0] for d in result.description]
    found = result.fetchone()
    if found is None:
        return None
    row = dict(zip(names, found, strict=True))
    row.pop("_row")
    row["restricted"] = row["license"] in RESTRICTED_LICENSES
    return row


def explorer_facets(*, s: _Session, dataset: Dataset) -> Summary:
    """The distributions of the whole dataset: what the filters offer."""
    return explorer_summary(s=s, dataset=dataset, query=Query())


def without_page(query: Query) -> Query:
    return replace(query, page=1)
