"""What changed, document by document, between two analysed versions of a
corpus: what reviewers read when a corpus comes back after a request for
changes.

Both versions are read from their analyses' Parquet shards with DuckDB
(``explorer.session``: a memory limit, spilling to disk past it, and a
deadline), only their small columns (position, content hash, flags, counts
of personal data) for the comparison; the text of the twenty documents of
the page shown only. No version is ever held whole in Python.

How documents are matched, from what the analysis keeps of each (``source``,
the file and, in an archive, the member; ``line``, where it starts;
``hash``, the fingerprint of its normalised text; ``doc_index``, its place in
the corpus):

1. The same text in the same file: unchanged, even when lines above it were
   added or removed (its line moved, not its text). A text that appears
   several times pairs copy by copy, in order.
2. The same text elsewhere: unchanged too, moved (a file renamed, a document
   moved to another file); reported as moves per pair of files, not listed.
3. What is left are changes. Matching it by (file, line) alone would fail as
   soon as a document is removed above another: every following line
   shifts. So, as a line diff does, the unmatched documents are grouped by
   the last matched document before them in their file (their *gap*; only
   a text found once in each version marks one);
   within a gap an old and a new document are the same document changed
   when each is the other's most alike (by the MinHash signatures the
   analysis keeps) among those a few places away. Whatever is left over
   was removed (old) or added (new).

The comparison is one DuckDB statement, run once for a pair of analyses: its
result (the changes only, in the page's order) is kept in storage beside the
newer analysis's shards, and every page reads it; the summary and each page
are also kept in the cache (the shards of a finished analysis never change).
"""

from __future__ import annotations

import difflib
import hashlib
import re
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict

from django.core.cache import cache
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.paginator import Page, Paginator
from django.utils.translation import gettext as _

from . import explorer
from .analysis.pipeline import ANALYSIS
from .analysis.text import PII_KINDS
from .models import AnalysisRun, Corpus, JobStatus
from .review import parse_index

PER_PAGE = 20
CHANGED, REMOVED, ADDED = "changed", "removed", "added"
KINDS = (CHANGED, REMOVED, ADDED)
# In the stored comparison; moved documents are counted, never listed.
_KIND_CODES = {CHANGED: 0, REMOVED: 1, ADDED: 2}
_MOVED = 3
MOVES_LISTED = 20
# A changed document is paired with the most alike of the unmatched ones of
# its gap at most BAND places away, if their MinHash signatures (of word
# pairs, kept by the analysis) share MIN_SIMILARITY of their values. Texts
# under five words have no signature: two of them in the same place pair.
BAND = 8
MIN_SIMILARITY = 0.2
SHORT_SIMILARITY = 0.5
# The beginning of an added or removed document shown in the list.
PREVIEW_CHARS = 600
# A changed document's text read for its diff, and the words of it compared
# beyond their common beginning and end: difflib costs grow faster than the
# text. Past them the page says the rest was not compared.
DIFF_MAX_CHARS = 200_000
DIFF_MAX_WORDS = 2_000
# The word diffs of one page together (difflib, in the web request): a
# submitter's texts can make each one slow; past this the page's other
# documents are listed without their diff.
DIFF_PAGE_SECONDS = 3.0
# Unchanged words kept around each change, and words shown in all for one
# document (changes and context): the whole document is one link away.
CONTEXT_WORDS = 12
SHOWN_WORDS = 400
# The whole comparison, in the web request: past it the page says so.
TIME_LIMIT_SECONDS = 20.0
CACHE_SECONDS = 24 * 3600
# Bumped when what is cached changes shape.
CACHE_VERSION = 1

_PII_COLUMNS = [f"pii_{kind}" for kind in PII_KINDS]
_SMALL_COLUMNS = ["doc_index", "source", "line", "hash", "flags", *_PII_COLUMNS]
_EMPTY = (
    "(SELECT NULL::BIGINT AS doc_index, NULL::VARCHAR AS source, NULL::BIGINT AS line, NULL::BIGINT AS hash, "
    "NULL::VARCHAR[] AS flags, " + ", ".join(f"NULL::INTEGER AS {c}" for c in _PII_COLUMNS) + " WHERE false)"
)
_SIDE_COLUMNS = ["doc_index", "source", "line", "flags", *_PII_COLUMNS]


class VersionError(Exception):
    """A version asked for that cannot be compared (not a number, not
    analysed, the same twice): its message says which, for the reviewer."""


class DiffUnavailable(Exception):
    """The comparison could not be made now (too long, files unreadable)."""


class Segment(TypedDict, total=False):
    # "equal", "del", "ins" or "gap" (``count`` unchanged words left out).
    tag: str
    text: str
    count: int


@dataclass
class WordDiff:
    segments: list[Segment]
    # Words shown stopped at SHOWN_WORDS, or the texts were longer than
    # what was compared: the rest is on the document's page.
    truncated: bool = False
    # The compared texts hold the same words (a change of spacing only, or
    # a change further in than what was compared).
    same_words: bool = False


class Side(TypedDict):
    doc_index: int
    source: str
    line: int | None
    flags: list[str]
    personal_data: dict[str, int]


class DocumentChange(TypedDict, total=False):
    kind: str
    old: Side | None
    new: Side | None
    flags_added: list[str]
    flags_removed: list[str]
    # (kind, count before, count after), kinds whose count changed.
    personal_data: list[tuple[str, int, int]]
    diff: WordDiff
    # Not compared: the page's time for word diffs was spent.
    not_compared: bool
    preview: str
    preview_truncated: bool


@dataclass
class VersionDiff:
    from_version: int
    to_version: int
    documents_before: int = 0
    documents_after: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    unchanged: int = 0
    moved: int = 0
    # (file before, file after, documents), the largest first.
    moves: list[tuple[str, str, int]] = field(default_factory=list)
    moves_more: int = 0
    # (flag, documents before, after, change) for each flag of either version.
    flags: list[tuple[str, int, int, int]] = field(default_factory=list)
    # (kind, findings before, after, change) for each kind of personal data.
    personal_data: list[tuple[str, int, int, int]] = field(default_factory=list)
    kind: str = ""
    page: Page | None = None

    @property
    def personal_data_found(self) -> bool:
        return any(before or after for _kind, before, after, _change in self.personal_data)

    @property
    def listed(self) -> int:
        return self.counts.get(self.kind, 0) if self.kind else sum(self.counts.values())


# ---------------------------------------------------------------- versions


def corpus_analysed_versions(*, corpus: Corpus) -> dict[int, AnalysisRun]:
    """The corpus's versions with a finished analysis, oldest first, each
    with its latest finished analysis (reports left out)."""
    runs = (
        AnalysisRun.objects.filter(corpus=corpus, status=JobStatus.DONE)
        .only("id", "corpus_id", "corpus_version", "shards")
        .order_by("corpus_version", "id")
    )
    return {run.corpus_version: run for run in runs}


def version_pair_choose(*, versions: Sequence[int], from_raw: str = "", to_raw: str = "") -> tuple[int, int] | None:
    """The two versions to compare: those asked for (``?from=&to=``), by
    default the last two analysed. None when there is nothing to compare
    (fewer than two analysed versions, and none asked for)."""
    if not (from_raw or to_raw) and len(versions) < 2:
        return None
    chosen = []
    for raw in (from_raw, to_raw):
        number = None
        if raw:
            number = parse_index(raw)
            if number is None:
                raise VersionError(_("“%(value)s” is not a version number.") % {"value": raw[:20]})
            if number not in versions:
                raise VersionError(_("Version %(version)d of this corpus has no finished analysis.")
                                   % {"version": number})
        chosen.append(number)
    older, newer = chosen
    if newer is None:
        newer = max((v for v in versions if older is None or v > older), default=None)
        if newer is None:
            raise VersionError(_("No analysed version comes after version %(version)d.") % {"version": older})
    if older is None:
        older = max((v for v in versions if v < newer), default=None)
        if older is None:
            raise VersionError(_("No analysed version comes before version %(version)d.") % {"version": newer})
    if older == newer:
        raise VersionError(_("Choose two different versions."))
    return older, newer


# ---------------------------------------------------------------- comparison


def _relation(param: str, run: AnalysisRun) -> str:
    # read_parquet refuses an empty list: an analysis may keep no document.
    if not run.shards:
        return _EMPTY
    return f"(SELECT {', '.join(_SMALL_COLUMNS)} FROM read_parquet(${param}))"


def _side(alias: str, prefix: str) -> str:
    return ", ".join(f"{alias}.{column} AS {prefix}_{column}" for column in _SIDE_COLUMNS)


def _signatures(param: str, run: AnalysisRun) -> str:
    if not run.shards:
        return "(SELECT NULL::BIGINT AS doc_index, NULL::UINTEGER[] AS minhash WHERE false)"
    return f"(SELECT doc_index, minhash FROM read_parquet(${param}))"


def _changes_sql(old_run: AnalysisRun, new_run: AnalysisRun) -> str:
    """The query of the comparison: one row per document changed, removed,
    added or moved (see the module's docstring)."""
    copies = "row_number() OVER (PARTITION BY hash{by} ORDER BY doc_index) AS copy"
    anchor = (
        "last_value(p.anchor IGNORE NULLS) OVER (PARTITION BY v.source ORDER BY v.doc_index "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS anchor"
    )
    gap_file = "CASE WHEN anchor IS NULL THEN source ELSE '' END"
    gap = f"coalesce(anchor, -1) AS gap, {gap_file} AS gap_file"
    rank = f"row_number() OVER (PARTITION BY coalesce(anchor, -1), {gap_file} ORDER BY doc_index) AS rank"
    similarity = (
        f"CASE WHEN list_max(c.minhash) = 0 AND list_max(s.minhash) = 0 THEN {SHORT_SIMILARITY} "
        "ELSE list_sum(list_transform(c.minhash, lambda x, i: (x = s.minhash[i])::INTEGER)) / len(c.minhash) END"
    )
    nulls = ", ".join("NULL" for _ in _SIDE_COLUMNS)
    return f"""
WITH old AS {_relation("old", old_run)}, new AS {_relation("new", new_run)},
o1 AS (SELECT doc_index, source, hash, {copies.format(by=", source")}, count(*) OVER (PARTITION BY hash) AS copies
       FROM old),
n1 AS (SELECT doc_index, source, hash, {copies.format(by=", source")}, count(*) OVER (PARTITION BY hash) AS copies
       FROM new),
-- Only a text found once in each version marks a gap: the copies of a
-- repeated one may pair across each other, and their gaps would not meet.
same_file AS (SELECT o1.doc_index AS old_index, n1.doc_index AS new_index,
              CASE WHEN o1.copies = 1 AND n1.copies = 1 THEN o1.doc_index END AS anchor
              FROM o1 JOIN n1 USING (hash, source, copy)),
o2 AS (SELECT doc_index, source, hash, {copies.format(by="")}
       FROM old ANTI JOIN same_file ON old.doc_index = same_file.old_index),
n2 AS (SELECT doc_index, source, hash, {copies.format(by="")}
       FROM new ANTI JOIN same_file ON new.doc_index = same_file.new_index),
moved AS (SELECT o2.doc_index AS old_index, n2.doc_index AS new_index, o2.source AS old_source,
          n2.source AS new_source FROM o2 JOIN n2 USING (hash, copy)),
pairs AS (SELECT old_index, new_index, anchor FROM same_file
          UNION ALL SELECT m.old_index, m.new_index, CASE WHEN o.copies = 1 AND n.copies = 1 THEN m.old_index END
          FROM moved m JOIN o1 o ON o.doc_index = m.old_index JOIN n1 n ON n.doc_index = m.new_index),
oa AS (SELECT v.*, p.old_index AS pair, {anchor} FROM old v LEFT JOIN pairs p ON v.doc_index = p.old_index),
na AS (SELECT v.*, p.old_index AS pair, {anchor} FROM new v LEFT JOIN pairs p ON v.doc_index = p.new_index),
ou AS (SELECT *, {gap}, {rank} FROM oa WHERE pair IS NULL),
nu AS (SELECT *, {gap}, {rank} FROM na WHERE pair IS NULL),
os AS (SELECT ou.doc_index, ou.gap, ou.gap_file, ou.rank, m.minhash FROM ou JOIN {_signatures("old", old_run)} m
       USING (doc_index)),
ns AS (SELECT nu.doc_index, nu.gap, nu.gap_file, nu.rank, m.minhash FROM nu JOIN {_signatures("new", new_run)} m
       USING (doc_index)),
-- Each old document against the new ones of its gap at most BAND places
-- away: an equality join, however large the gap.
candidates AS (SELECT doc_index, gap, gap_file, rank AS old_rank, rank + unnest(range(-{BAND}, {BAND + 1})) AS rank,
               minhash FROM os),
scored AS (SELECT c.doc_index AS old_index, s.doc_index AS new_index, abs(c.old_rank - s.rank) AS distance,
           {similarity} AS similarity
           FROM candidates c JOIN ns s ON c.gap = s.gap AND c.gap_file = s.gap_file AND c.rank = s.rank),
best AS (SELECT old_index, new_index,
         row_number() OVER (PARTITION BY old_index ORDER BY similarity DESC, distance, new_index) AS for_old,
         row_number() OVER (PARTITION BY new_index ORDER BY similarity DESC, distance, old_index) AS for_new
         FROM scored WHERE similarity >= {MIN_SIMILARITY}),
changed AS (SELECT old_index, new_index FROM best WHERE for_old = 1 AND for_new = 1)
SELECT {_KIND_CODES[CHANGED]} AS kind, {_side("ou", "old")}, {_side("nu", "new")}
FROM changed c JOIN ou ON ou.doc_index = c.old_index JOIN nu ON nu.doc_index = c.new_index
UNION ALL
SELECT {_KIND_CODES[REMOVED]}, {_side("ou", "old")}, {nulls} FROM ou ANTI JOIN changed c ON ou.doc_index = c.old_index
UNION ALL
SELECT {_KIND_CODES[ADDED]}, {nulls}, {_side("nu", "new")} FROM nu ANTI JOIN changed c ON nu.doc_index = c.new_index
UNION ALL
SELECT {_MOVED}, old_index, old_source, NULL, NULL, {", ".join("NULL" for _ in _PII_COLUMNS)},
       new_index, new_source, NULL, NULL, {", ".join("NULL" for _ in _PII_COLUMNS)}
FROM moved
"""


def _files(s: Any, old_run: AnalysisRun, new_run: AnalysisRun) -> dict[str, list[str]]:
    params = {}
    if old_run.shards:
        params["old"] = [s.location(name) for name in old_run.shards]
    if new_run.shards:
        params["new"] = [s.location(name) for name in new_run.shards]
    return params


def _totals(s: Any, param: str, run: AnalysisRun) -> tuple[int, dict[str, int], dict[str, int]]:
    """Documents, documents per quality flag and findings per kind of
    personal data of one version: one pass over its small columns."""
    if not run.shards:
        return 0, {}, {kind: 0 for kind in PII_KINDS}
    files = {param: [s.location(name) for name in run.shards]}
    sums = ", ".join(f"coalesce(sum({column}), 0)" for column in _PII_COLUMNS)
    ((documents, *findings),) = s.fetchall(f"SELECT count(*), {sums} FROM read_parquet(${param})", files)
    flags = s.fetchall(
        f"SELECT flag, count(*) FROM (SELECT unnest(flags) AS flag FROM read_parquet(${param})) "
        "GROUP BY flag", files,
    )
    return int(documents), {flag: int(n) for flag, n in flags}, dict(zip(PII_KINDS, map(int, findings), strict=True))


def _changes_store(s: Any, old_run: AnalysisRun, new_run: AnalysisRun, name: str) -> None:
    """Compare the versions and keep the result in storage, in the page's
    order, beside the newer version's shards: it is small (changes only),
    every later page reads it, and it goes with the analysis's files."""
    order = "kind, coalesce(new_doc_index, old_doc_index), old_doc_index"
    with tempfile.TemporaryDirectory(prefix="resubmission-") as folder:
        path = Path(folder) / "changes.parquet"
        s.execute(
            f"COPY (SELECT * FROM ({_changes_sql(old_run, new_run)}) ORDER BY {order}) TO '{path}' "
            "(FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 10000)",
            _files(s, old_run, new_run),
        )
        with path.open("rb") as handle:
            saved = default_storage.save(name, File(handle))
    if saved != name:  # another request stored it meanwhile: keep theirs
        default_storage.delete(saved)


def _stored_name(old_run: AnalysisRun, new_run: AnalysisRun) -> str:
    return f"{ANALYSIS.storage_folder(new_run)}/changes/from-{old_run.pk}-{CACHE_VERSION}.parquet"


def _summary(s: Any, changes: dict, old_run: AnalysisRun, new_run: AnalysisRun, result: VersionDiff) -> None:
    codes = {code: kind for kind, code in _KIND_CODES.items()}
    counts = dict(s.fetchall("SELECT kind, count(*) FROM read_parquet($changes) GROUP BY kind", changes))
    result.counts = {kind: int(counts.get(code, 0)) for code, kind in codes.items()}
    result.moved = int(counts.get(_MOVED, 0))
    moves = s.fetchall(
        f"SELECT old_source, new_source, count(*) AS n FROM read_parquet($changes) WHERE kind = {_MOVED} "
        "GROUP BY ALL ORDER BY n DESC, old_source, new_source", changes,
    )
    result.moves = [(old, new, int(n)) for old, new, n in moves[:MOVES_LISTED]]
    result.moves_more = max(0, len(moves) - MOVES_LISTED)
    before, flags_before, pii_before = _totals(s, "old", old_run)
    after, flags_after, pii_after = _totals(s, "new", new_run)
    result.documents_before, result.documents_after = before, after
    result.unchanged = after - result.counts[CHANGED] - result.counts[ADDED]
    result.flags = [
        (flag, a, b, b - a) for flag in sorted(set(flags_before) | set(flags_after))
        for a, b in [(flags_before.get(flag, 0), flags_after.get(flag, 0))]
    ]
    result.personal_data = [
        (kind, pii_before[kind], pii_after[kind], pii_after[kind] - pii_before[kind]) for kind in PII_KINDS
    ]


def _page_rows(s: Any, changes: dict, kind: str, offset: int) -> list[DocumentChange]:
    codes = [_KIND_CODES[kind]] if kind else list(_KIND_CODES.values())
    columns = ", ".join(f"{side}_{column}" for side in ("old", "new") for column in _SIDE_COLUMNS)
    found = s.fetchall(
        # The file is in the page's order.
        f"SELECT kind, {columns} FROM read_parquet($changes) WHERE list_contains($codes, kind) "
        f"LIMIT {PER_PAGE} OFFSET {int(offset)}",
        {**changes, "codes": codes},
    )
    names = {code: name for name, code in _KIND_CODES.items()}
    width = len(_SIDE_COLUMNS)
    rows: list[DocumentChange] = []
    for code, *values in found:
        old, new = _as_side(values[:width]), _as_side(values[width:])
        row: DocumentChange = {"kind": names[code], "old": old, "new": new}
        if old and new:
            row["flags_added"] = [f for f in new["flags"] if f not in old["flags"]]
            row["flags_removed"] = [f for f in old["flags"] if f not in new["flags"]]
            row["personal_data"] = [
                (k, old["personal_data"][k], new["personal_data"][k]) for k in PII_KINDS
                if old["personal_data"][k] != new["personal_data"][k]
            ]
        rows.append(row)
    return rows


def _as_side(values: list) -> Side | None:
    doc_index, source, line, flags, *pii = values
    if doc_index is None:
        return None
    return {
        "doc_index": int(doc_index), "source": source or "", "line": line, "flags": list(flags or []),
        "personal_data": {kind: int(count or 0) for kind, count in zip(PII_KINDS, pii, strict=True)},
    }


def _texts(s: Any, param: str, run: AnalysisRun, indexes: list[int], chars: int) -> dict[int, tuple[str, int]]:
    """The beginning (``chars``) and the length of a few documents' texts.
    The shards are in doc_index order: the range lets DuckDB skip every row
    group but those that hold them."""
    if not indexes or not run.shards:
        return {}
    found = s.fetchall(
        f"SELECT doc_index, left(text, {int(chars)}), length(text) FROM read_parquet(${param}) "
        "WHERE doc_index BETWEEN $low AND $high AND list_contains($indexes, doc_index)",
        {param: [s.location(name) for name in run.shards], "low": min(indexes), "high": max(indexes),
         "indexes": indexes},
    )
    return {int(index): (text or "", int(length or 0)) for index, text, length in found}


def _with_texts(s: Any, old_run: AnalysisRun, new_run: AnalysisRun, rows: list[DocumentChange]) -> None:
    def wanted(kind: str, side: str) -> list[int]:
        sides = [row["old"] if side == "old" else row["new"] for row in rows if row["kind"] == kind]
        return [found["doc_index"] for found in sides if found]

    old_full = _texts(s, "old", old_run, wanted(CHANGED, "old"), DIFF_MAX_CHARS)
    new_full = _texts(s, "new", new_run, wanted(CHANGED, "new"), DIFF_MAX_CHARS)
    old_start = _texts(s, "old", old_run, wanted(REMOVED, "old"), PREVIEW_CHARS)
    new_start = _texts(s, "new", new_run, wanted(ADDED, "new"), PREVIEW_CHARS)
    deadline = time.monotonic() + DIFF_PAGE_SECONDS
    for row in rows:
        old, new = row["old"], row["new"]
        if row["kind"] == CHANGED and old and new and time.monotonic() > deadline:
            row["not_compared"] = True
        elif row["kind"] == CHANGED and old and new:
            before, before_chars = old_full.get(old["doc_index"], ("", 0))
            after, after_chars = new_full.get(new["doc_index"], ("", 0))
            row["diff"] = text_word_diff(old=before, new=after)
            if before_chars > len(before) or after_chars > len(after):
                row["diff"].truncated = True
        else:
            side = new if row["kind"] == ADDED else old
            starts = new_start if row["kind"] == ADDED else old_start
            text, chars = starts.get(side["doc_index"], ("", 0)) if side else ("", 0)
            row["preview"], row["preview_truncated"] = text, chars > len(text)


def _cache_key(old_run: AnalysisRun, new_run: AnalysisRun, *parts: object) -> str:
    raw = repr([CACHE_VERSION, old_run.pk, old_run.shards, new_run.pk, new_run.shards, *parts])
    return "resubmission:" + hashlib.sha256(raw.encode()).hexdigest()


def corpus_version_diff(
    *, corpus: Corpus, from_version: int, to_version: int, kind: str = "", page: int = 1
) -> VersionDiff:
    """The documents changed, removed and added from ``from_version`` to
    ``to_version`` (those of ``kind`` only when given), a page of them with
    their word diffs, and the summary of the whole. Raises VersionError if
    either version has no finished analysis, DiffUnavailable if the
    comparison cannot be made now."""
    runs = corpus_analysed_versions(corpus=corpus)
    if from_version not in runs or to_version not in runs:
        raise VersionError(_("This version of the corpus has no finished analysis."))
    old_run, new_run = runs[from_version], runs[to_version]
    kind = kind if kind in KINDS else ""
    summary_key = _cache_key(old_run, new_run, "summary")
    result: VersionDiff | None = cache.get(summary_key)
    rows: list[DocumentChange] | None = None
    if result is not None:
        result.kind = kind
        pages = Paginator(range(result.listed), PER_PAGE)
        number = pages.get_page(page).number
        rows = cache.get(_cache_key(old_run, new_run, "page", kind, number))
    if result is None or rows is None:
        try:
            with explorer.session(time_limit=TIME_LIMIT_SECONDS) as s:
                name = _stored_name(old_run, new_run)
                if not default_storage.exists(name):
                    _changes_store(s, old_run, new_run, name)
                changes = {"changes": [s.location(name)]}
                if result is None:
                    result = VersionDiff(from_version=from_version, to_version=to_version)
                    _summary(s, changes, old_run, new_run, result)
                    cache.set(summary_key, result, CACHE_SECONDS)
                    result.kind = kind
                    pages = Paginator(range(result.listed), PER_PAGE)
                    number = pages.get_page(page).number
                rows = _page_rows(s, changes, kind, (number - 1) * PER_PAGE)
                _with_texts(s, old_run, new_run, rows)
        except explorer.ExplorerTimeout:
            raise DiffUnavailable(_("Comparing these versions took too long. Try again in a while.")) from None
        except explorer.ExplorerError:
            raise DiffUnavailable(_("The documents of these versions could not be read.")) from None
        cache.set(_cache_key(old_run, new_run, "page", kind, number), rows, CACHE_SECONDS)
    result.page = Page(rows, number, pages)
    return result


# ---------------------------------------------------------------- word diff


_WORD = re.compile(r"(\S+)(\s*)")


def _words(text: str) -> tuple[list[str], list[str]]:
    """The words of a text, and the spacing after each (kept to show the
    text as it is; only the words are compared)."""
    words, spaces = [], []
    for match in _WORD.finditer(text):
        words.append(match.group(1))
        spaces.append(match.group(2))
    return words, spaces


class _Writer:
    """Segments of a diff, within a budget of words shown."""

    def __init__(self, budget: int) -> None:
        self.segments: list[Segment] = []
        self.budget = budget
        self.full = False

    def _add(self, tag: str, text: str) -> None:
        if not text:
            return
        if self.segments and self.segments[-1]["tag"] == tag and tag != "gap":
            self.segments[-1]["text"] += text
        else:
            self.segments.append({"tag": tag, "text": text})

    def words(self, tag: str, words: list[str], spaces: list[str], start: int, end: int) -> None:
        """Words [start, end) as ``tag``; the spacing after the last one
        stays outside a <del> or <ins>."""
        if self.full or start >= end:
            return
        if end - start > self.budget:
            end, self.full = start + max(self.budget, 1), True
        self.budget -= end - start
        if tag == "equal":
            self._add(tag, "".join(w + s for w, s in zip(words[start:end], spaces[start:end], strict=True)))
            return
        last = end - 1
        self._add(tag, "".join(w + s for w, s in zip(words[start:last], spaces[start:last], strict=True)) + words[last])
        self._add("equal", spaces[last])

    def gap(self, count: int) -> None:
        if not self.full and count:
            self.segments.append({"tag": "gap", "count": count})


def text_word_diff(
    *, old: str, new: str, context: int = CONTEXT_WORDS, shown: int = SHOWN_WORDS, max_words: int = DIFF_MAX_WORDS
) -> WordDiff:
    """The word-level differences of two texts, as segments to show:
    unchanged words (``equal``, only ``context`` of them around each
    change, the others counted in a ``gap``), removed (``del``) and added
    (``ins``) words. At most ``shown`` words are shown; the common
    beginning and end are found first, and at most ``max_words`` words of
    each text in between are compared (difflib is quadratic at worst)."""
    a, a_spaces = _words(old)
    b, b_spaces = _words(new)
    prefix = 0
    while prefix < len(a) and prefix < len(b) and a[prefix] == b[prefix]:
        prefix += 1
    suffix = 0
    while suffix < len(a) - prefix and suffix < len(b) - prefix and a[-1 - suffix] == b[-1 - suffix]:
        suffix += 1
    a_end, b_end = len(a) - suffix, len(b) - suffix
    cut = a_end - prefix > max_words or b_end - prefix > max_words
    if cut:
        a_end, b_end = min(a_end, prefix + max_words), min(b_end, prefix + max_words)
    matcher = difflib.SequenceMatcher(None, a[prefix:a_end], b[prefix:b_end])
    codes = [("equal", 0, prefix, 0, prefix)] if prefix else []
    codes += [(tag, i1 + prefix, i2 + prefix, j1 + prefix, j2 + prefix)
              for tag, i1, i2, j1, j2 in matcher.get_opcodes()]
    if suffix and not cut:
        codes.append(("equal", a_end, len(a), b_end, len(b)))
    if not any(tag != "equal" for tag, *_ in codes):
        return WordDiff(segments=[{"tag": "gap", "count": len(b)}] if b else [], truncated=cut, same_words=True)
    out = _Writer(shown)
    for number, (tag, i1, i2, j1, j2) in enumerate(codes):
        if tag == "equal":
            head = 0 if number == 0 else context
            tail = 0 if number == len(codes) - 1 else context
            if j2 - j1 > head + tail + 2:
                out.words("equal", b, b_spaces, j1, j1 + head)
                out.gap(j2 - j1 - head - tail)
                out.words("equal", b, b_spaces, j2 - tail, j2)
            else:
                out.words("equal", b, b_spaces, j1, j2)
            continue
        if tag in ("replace", "delete"):
            out.words("del", a, a_spaces, i1, i2)
        if tag in ("replace", "insert"):
            if tag == "replace" and out.segments and out.segments[-1]["tag"] == "equal":
                # Old words, then new ones, then the spacing after the new.
                out.segments.pop()
            out.words("ins", b, b_spaces, j1, j2)
    return WordDiff(segments=out.segments, truncated=out.full or cut)
