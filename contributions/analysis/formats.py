"""Reading submitted files as a stream of documents.

Every reader takes a binary stream and yields ``RawDoc`` (a document) or
``Problem`` (a record skipped, with the file and line). A problem that makes
the whole file unusable raises ``FileRejected``. Nothing is ever extracted to
disk, and no reader holds more than one document in memory.

Files are hostile until read: whatever size a header, a footer or a
directory claims is checked against a small bound before anything is read
on its word, and everything decoded is counted against what the stored file
may reasonably expand to. ``upload_check`` is the part that runs in the web
request: bounded in time and memory, it never opens an archive's members nor
reads documents; the worker does that through ``read_documents``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import stat
import struct
import tarfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import NamedTuple

import orjson

from ..texts import Message, message, message_render

# One document: beyond this, it is skipped with a message naming its line.
MAX_DOCUMENT_CHARS = 10_000_000
# A CSV row holds its text and the other columns: a little more than a document.
MAX_RECORD_CHARS = MAX_DOCUMENT_CHARS + 1_000_000
MAX_HEADER_CHARS = 1024**2
# Metadata of a JSON line: far deeper than any real record, far below what
# orjson can write back (it stops at 255 levels).
MAX_JSON_DEPTH = 32
# Archives: how many members, how much once decompressed, and how much more
# than its compressed size an archive may claim before it is taken for a bomb.
# The same bound applies to the text decoded from any file (Parquet pages and
# dictionaries expand like archives do).
MAX_ARCHIVE_MEMBERS = 10_000
MAX_ARCHIVE_UNCOMPRESSED = 20 * 1024**3
MAX_COMPRESSION_RATIO = 100
BOMB_MIN_SIZE = 100 * 1024**2
# Parquet rows cost next to nothing when they repeat: beyond this many, a
# file needs at least a byte per row.
BOMB_MIN_ROWS = 1_000_000
# tar reads long names and pax records whole into memory; a path never needs
# more than this.
MAX_EXTENDED_HEADER = 64 * 1024
MAX_HEADER_CHAIN = 8
# zipfile reads the central directory whole and builds an object per entry.
MAX_ZIP_DIRECTORY = 8 * 1024**2
# pyarrow builds its metadata objects (hundreds of bytes each) before it
# checks them: the footer is measured first. The web request parses only
# small ones; larger ones wait for the worker.
MAX_PARQUET_FOOTER = 8 * 1024**2
MAX_PARQUET_FOOTER_ENTRIES = 200_000
UPLOAD_PARQUET_FOOTER = 1024**2
UPLOAD_PARQUET_FOOTER_ENTRIES = 20_000
# What one batch of Parquet rows may decode to: a dictionary entry is
# decoded once for every row that points to it.
PARQUET_BATCH_BYTES = 16 * 1024**2
PARQUET_BATCH_ROWS = 256
HEAD_SIZE = 64 * 1024

TEXT_FORMATS = {"txt", "md", "jsonl", "csv", "tsv"}
FORMATS = TEXT_FORMATS | {"parquet", "zip", "tar.gz"}
NESTED_ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst")

# First bytes, and the code of what they say a file is (contributions.texts).
MAGIC = [
    (b"\x89PNG", "kind.png"),
    (b"\xff\xd8\xff", "kind.jpeg"),
    (b"GIF87a", "kind.gif"),
    (b"GIF89a", "kind.gif"),
    (b"%PDF", "kind.pdf"),
    (b"MZ", "kind.windows"),
    (b"\x7fELF", "kind.elf"),
    (b"\xca\xfe\xba\xbe", "kind.macho"),
    (b"PK\x03\x04", "kind.zip"),
    (b"PK\x05\x06", "kind.zip"),
    (b"\x1f\x8b", "kind.gzip"),
    (b"BZh", "kind.bzip2"),
    (b"\xfd7zXZ", "kind.xz"),
    (b"7z\xbc\xaf", "kind.7z"),
    (b"Rar!", "kind.rar"),
    (b"PAR1", "kind.parquet"),
    (b"RIFF", "kind.media"),
    (b"OggS", "kind.audio"),
    (b"ID3", "kind.mp3"),
    (b"\x00\x00\x00\x18ftyp", "kind.video"),
    (b"\x00\x00\x00\x20ftyp", "kind.video"),
    (b"SQLite format 3", "kind.sqlite"),
    (b"\xd0\xcf\x11\xe0", "kind.office"),
]


@dataclass(slots=True)
class FormatOptions:
    split: str = "file"  # txt/md: "file", "blank_lines" or "separator"
    separator: str = "---"
    text_column: str = "text"  # csv, tsv and parquet


@dataclass(slots=True)
class RawDoc:
    text: str
    source: str
    line: int
    meta: dict = field(default_factory=dict)


@dataclass(slots=True)
class Problem:
    """A record skipped, or a file refused: ``message`` is put into words
    where it is read, in the reader's language (contributions.texts)."""

    source: str
    line: int | None
    message: Message

    def as_message(self) -> Message:
        """Where and what, as one message (a failure reason)."""
        if self.line:
            return message("problem.line", source=self.source, line=self.line, message=self.message)
        return message("problem", source=self.source, message=self.message)

    def __str__(self) -> str:
        return message_render(self.as_message())


@dataclass(slots=True)
class ReadProgress:
    """How far the reading of one stored file is, in bytes of that file:
    ``done`` of ``total``. It follows what was really read (raw bytes, rows,
    compressed bytes of archives), not what the content claims."""

    done: int = 0
    total: int = 0
    # Characters of text and metadata given so far, counted against what
    # the file may expand to (``check_expansion``).
    chars: int = 0


class FileRejected(Exception):
    def __init__(self, source: str, what: Message, line: int | None = None) -> None:
        self.problem = Problem(source, line, what)
        super().__init__(source, what, line)

    def __str__(self) -> str:
        return str(self.problem)


def format_of(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    suffix = PurePosixPath(lower).suffix.lstrip(".")
    return suffix if suffix in FORMATS else None


def safe_name(name: str) -> str:
    """A member or file name fit for a message: no control characters."""
    return "".join(ch if ch.isprintable() else "?" for ch in name)[:300]


def short_name(name: str, *, max_chars: int = 255, max_bytes: int | None = None) -> str:
    """``name`` cut to ``max_chars`` characters and ``max_bytes`` bytes of
    UTF-8 (file systems count bytes), keeping the extension of its format
    and never cutting a character in two."""
    fmt = format_of(name)
    if fmt == "tar.gz":
        suffix = name[-7:] if name.lower().endswith(".tar.gz") else name[-4:]
    else:
        suffix = name[-len(fmt) - 1 :] if fmt else ""
    stem = name[: len(name) - len(suffix)][: max(max_chars - len(suffix), 0)]
    if max_bytes is not None:
        room = max(max_bytes - len(suffix.encode()), 0)
        stem = stem.encode()[:room].decode("utf-8", "ignore")
    return stem + suffix


def sniff(head: bytes, fmt: str) -> Message | None:
    """What is wrong with a file whose first bytes are ``head``, for the
    format its name claims; None when the content fits."""
    if not head:
        return message("format.empty")
    if fmt == "parquet":
        return None if head.startswith(b"PAR1") else message("format.not_parquet")
    if fmt == "zip":
        return None if head.startswith((b"PK\x03\x04", b"PK\x05\x06")) else message("format.not_zip")
    if fmt == "tar.gz":
        return None if head.startswith(b"\x1f\x8b") else message("format.not_tar_gz")
    for magic, what in MAGIC:
        if head.startswith(magic):
            return message("format.not_text", what=message(what))
    encoding = detect_encoding(head)
    if encoding.startswith("utf-16"):
        return None
    sample = head.lstrip(codecs.BOM_UTF8).lstrip()[:512].lower()
    if sample.startswith((b"<!doctype html", b"<html")) or (b"<head" in sample and b"<body" in head.lower()):
        return message("format.html")
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    if control > len(head) * 0.05:
        return message("format.binary")
    return None


def detect_encoding(head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) >= 8:
        half = len(head) / 2
        even_nuls, odd_nuls = head[0::2].count(0), head[1::2].count(0)
        if odd_nuls > half * 0.4 and even_nuls < half * 0.05:
            return "utf-16-le"
        if even_nuls > half * 0.4 and odd_nuls < half * 0.05:
            return "utf-16-be"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A sequence cut at the end of the sample is still UTF-8.
        if exc.start < len(head) - 3:
            return "cp1252"
    return "utf-8"


class _Counting(io.RawIOBase):
    """Counts the bytes read through it, and stops at ``limit``."""

    def __init__(self, stream, limit: int | None = None, source: str = "") -> None:
        self.stream, self.count, self.limit, self.source = stream, 0, limit, source

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        try:
            return self.stream.seekable()
        except AttributeError:  # members of a streamed tar cannot say
            return False

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.stream.seek(offset, whence)

    def tell(self) -> int:
        return self.stream.tell()

    def readinto(self, buffer) -> int:
        data = self.stream.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        if self.limit is not None and self.count > self.limit:
            raise FileRejected(self.source, message("bomb.archive"))
        return n


def buffered(stream, limit: int | None = None, source: str = "") -> tuple[io.BufferedReader, _Counting]:
    counter = _Counting(stream, limit, source)
    return io.BufferedReader(counter, buffer_size=1 << 20), counter


def _counted(stream) -> tuple[io.BufferedReader, _Counting]:
    if isinstance(stream, io.BufferedReader) and isinstance(stream.raw, _Counting):
        return stream, stream.raw
    return buffered(stream)


def _expansion_limit(size: int) -> int:
    """What a file of ``size`` stored bytes may decode to, in bytes or characters."""
    return min(MAX_ARCHIVE_UNCOMPRESSED, max(BOMB_MIN_SIZE, MAX_COMPRESSION_RATIO * size))


class LineRange(io.RawIOBase):
    """The bytes of the lines of a file that start in [start, end): from the
    first line start at or after ``start`` to the end of the line that holds
    ``end - 1``. Counts the lines it gives."""

    def __init__(self, stream, start: int, end: int) -> None:
        self.stream, self.end, self.lines = stream, end, 0
        # The file's first bytes, which say its encoding.
        stream.seek(0)
        self.head = stream.read(HEAD_SIZE)
        self._last = b"\n"
        self._done = False
        stream.seek(start)
        if start > 0:
            stream.seek(start - 1)
            if stream.read(1) != b"\n":
                # The line that holds ``start`` is the previous range's.
                while True:
                    chunk = stream.read(1 << 16)
                    newline = chunk.find(b"\n")
                    if not chunk or newline != -1:
                        start = stream.tell() - len(chunk) + newline + 1 if chunk else stream.tell()
                        break
                stream.seek(start)
        self.start = self.position = start
        self._done = start >= end

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._done:
            return 0
        view = memoryview(buffer)
        if self.position < self.end:
            wanted = min(len(view), self.end - self.position)
        elif self._last == b"\n":
            self._done = True
            return 0
        else:
            wanted = min(len(view), 1 << 16)
        data = self.stream.read(wanted)
        if self.position >= self.end:
            # Past the end: only what finishes the range's last line.
            newline = data.find(b"\n")
            if newline != -1:
                data = data[: newline + 1]
                self._done = True
        if not data:
            self._done = True
            if self._last != b"\n":
                self.lines += 1  # a last line without its newline
                self._last = b"\n"
            return 0
        n = len(data)
        view[:n] = data
        self.lines += data.count(b"\n")
        self._last = data[-1:]
        self.position += n
        if self._done and self._last != b"\n":
            self.lines += 1
        return n


def line_ranges(
    stream, *, size: int, part_bytes: int, beat: Callable[[], object] | None = None,
    boundary: re.Pattern[bytes] | None = None,
) -> list[tuple[int, int]]:
    """Byte ranges of a text file that can be analysed apart, in order, each
    of about ``part_bytes`` and starting at a line: one read of the file.
    Any line may start a range of JSON Lines; with ``boundary`` (a line
    that ends a document, and its newlines), only the line after one. One
    range for a small file, or when its bytes cannot be cut at newline
    bytes as its reader counts lines (UTF-16; a carriage return alone,
    which the reader takes for a line end)."""
    if size <= part_bytes:
        return [(0, size)]
    stream.seek(0)
    if detect_encoding(stream.read(HEAD_SIZE)).startswith("utf-16"):
        return [(0, size)]
    stream.seek(0)
    cuts = [0]
    position, previous = 0, b""
    while chunk := stream.read(1 << 20):
        if beat is not None:
            beat()
        if _lone_carriage_return(previous, chunk):
            return [(0, size)]
        wanted = cuts[-1] + part_bytes
        while wanted < position + len(chunk):
            # A boundary across two chunks is missed: the cut comes later.
            if boundary is None:
                newline = chunk.find(b"\n", max(0, wanted - position))
                cut = position + newline + 1 if newline != -1 else size
            else:
                found = boundary.search(chunk, max(0, wanted - position - 1))
                cut = position + found.end() if found else size
            if cut >= size:
                break
            cuts.append(cut)
            wanted = cut + part_bytes
        position += len(chunk)
        previous = chunk[-1:]
    stream.seek(0)
    return list(zip(cuts, [*cuts[1:], size], strict=True))


def _lone_carriage_return(previous: bytes, chunk: bytes) -> bool:
    """Whether ``chunk`` holds a carriage return that is not before a line
    feed (``previous``: the last byte before it); one at its very end waits
    for the next chunk."""
    if b"\r" not in chunk:  # the common case, at memory speed
        return previous == b"\r" and chunk[:1] not in (b"\n", b"")
    joined = previous + chunk
    return joined.count(b"\r") - joined.count(b"\r\n") > (1 if joined.endswith(b"\r") else 0)


class _CsvGrammar(NamedTuple):
    records: re.Pattern[bytes]  # as many whole records as follow each other
    last: re.Pattern[bytes]  # a last record without its newline
    quoted_rest: re.Pattern[bytes]  # from inside a quoted field to the end of its record


def _csv_grammar(delimiter: str) -> _CsvGrammar:
    """Records of a CSV file whose quotes are all where RFC 4180 puts them.
    In such a file, and only there, a record ends at each line feed after
    an even number of quotes, as ``csv.reader`` reads it: a quote inside an
    unquoted field, text after a closing quote or a lone carriage return
    end the match (a NUL, which the reader refuses, is looked for apart:
    the quoted fields' class stays one byte, which ``re`` scans at memory
    speed). Possessive: a long file never backtracks."""
    d = re.escape(delimiter.encode())
    content = rb'[^"]*+(?:""[^"]*+)*+"'
    field = rb'(?:"' + content + rb'|[^"\r\n' + d + rb"]*+)"
    more = rb"(?:" + d + field + rb")*+"
    return _CsvGrammar(
        re.compile(rb"(?:" + field + more + rb"\r?\n)*+"), re.compile(field + more),
        re.compile(content + more + rb"\r?\n"),
    )


def _record_end(grammar: _CsvGrammar, buffer: bytes, start: int, at: int) -> int:
    """The end of the record of ``buffer`` that holds byte ``at``, ``start``
    being a record's start and the records from there whole: at the first
    line feed from ``at`` if the quotes before it are even, else past the
    quoted field it is in and the rest of its record. -1 if none. Every
    scan in C: a record of millions of quotes or lines costs no Python step
    each."""
    newline = buffer.find(b"\n", at)
    if newline == -1:
        return -1
    if not buffer.count(b'"', start, newline) % 2:
        return newline + 1
    match = grammar.quoted_rest.match(buffer, newline)
    return match.end() if match else -1


def csv_ranges(
    stream, *, size: int, part_bytes: int, fmt: str, options: FormatOptions,
    beat: Callable[[], object] | None = None,
) -> list[tuple[int, int]]:
    """Byte ranges of a CSV or TSV file that can be analysed apart, in order,
    each of about ``part_bytes`` and starting at a record: one read of the
    file, at the speed of a regular expression, not of ``csv.reader``. A
    range after the first reads the header from the file's first bytes
    (``LineRange.head``). One range when the file cannot be cut where
    ``csv.reader`` reading it from the start would find a record: its
    quotes not as RFC 4180 says, a record longer than a field may be (the
    reader would stop inside it), a header not whole in the first bytes or
    without the text column, UTF-16, a lone carriage return."""
    whole = [(0, size)]
    if size <= part_bytes:
        return whole
    stream.seek(0)
    head = stream.read(HEAD_SIZE)
    encoding = detect_encoding(head)
    if encoding.startswith("utf-16"):
        return whole
    grammar = _csv_grammar(_delimiter(fmt))

    def records_end(buffer: bytes, start: int) -> int:
        match = grammar.records.match(buffer, start)  # a repetition: always a match
        return match.end() if match else start

    skip = len(codecs.BOM_UTF8) if encoding == "utf-8-sig" else 0
    whole_in_head = records_end(head, skip)
    if whole_in_head == skip:
        return whole  # the header is not whole in the first bytes
    try:
        # Decoded as the reader decodes it: a byte foreign to the encoding
        # is a replacement character, not an error.
        lines = _RecordLines(_head_text(head, fmt), MAX_HEADER_CHARS)
        _csv_header(lines, csv.reader(lines, delimiter=_delimiter(fmt)), "", options)
    except FileRejected:
        return whole  # the one part says what is wrong
    stream.seek(0)
    cuts = [0]
    buffer, base, previous = b"", 0, b""
    while True:
        # Reads grow with what is carried over: a long record is matched
        # again a few times, not once a chunk.
        chunk = stream.read(max(1 << 20, len(buffer)))
        if beat is not None:
            beat()
        if _lone_carriage_return(previous, chunk) or b"\x00" in chunk:
            return whole
        previous = chunk[-1:] or previous
        carried = len(buffer)
        buffer += chunk
        start = skip if base == 0 else 0
        end = records_end(buffer, start)
        if carried and end and _record_end(grammar, buffer, 0, carried) > MAX_DOCUMENT_CHARS:
            # A record longer than a field may be: the reader would stop
            # inside it. Others are no longer than the chunk they came in.
            return whole
        at = start
        while (wanted := max(cuts[-1] + part_bytes - base, at)) < end:
            cut = _record_end(grammar, buffer, at, wanted)  # at most ``end``: whole records up to there
            if base + cut >= size:
                break
            cuts.append(base + cut)
            at = cut
        if not chunk:
            if grammar.last.fullmatch(buffer, end):
                break
            return whole  # a record that breaks the grammar
        buffer, base = buffer[end:], base + end
        if len(buffer) > MAX_DOCUMENT_CHARS:
            # A record this long, or a place where the grammar breaks.
            return whole
    stream.seek(0)
    return list(zip(cuts, [*cuts[1:], size], strict=True))


def document_boundary(options: FormatOptions) -> re.Pattern[bytes] | None:
    """The bytes of a line that ends a document of a plain text file split
    as ``options`` say, with the newlines around it; None when its
    documents cannot be told apart in bytes (one a file, a separator that
    is not ASCII)."""
    space = rb"[ \t\r\f\v]*"
    if options.split == "blank_lines":
        return re.compile(rb"\n" + space + rb"\n")
    separator = options.separator.strip()
    if options.split == "separator" and separator and separator.isascii() and separator.isprintable():
        return re.compile(rb"\n" + space + re.escape(separator.encode()) + space + rb"\n")
    return None


class EntryRange:
    """The entries of a file read out of order, a Parquet file's row groups
    or a ZIP archive's members, that start in bytes [start, end). Counts the
    rows it gives (``lines``, as LineRange counts lines); an archive's
    members count their own lines, from 1 each."""

    def __init__(self, start: int, end: int) -> None:
        self.start, self.end, self.lines = start, end, 0


def _chunk_offset(chunk) -> int:
    """Where pyarrow starts reading a column chunk. Some writers leave the
    dictionary page's offset out: the dictionary is then the first page."""
    offset = chunk.data_page_offset
    if chunk.has_dictionary_page and 0 < chunk.dictionary_page_offset < offset:
        offset = chunk.dictionary_page_offset
    return offset


def _row_group_offset(metadata, group: int) -> int:
    """Where a row group starts in the file: its first column chunk."""
    return _chunk_offset(metadata.row_group(group).column(0))


def _parquet_metadata(stream, size: int):
    """A Parquet file's metadata, its footer measured first (FileRejected)."""
    _parquet_footer(stream, "", size)
    return _parquet_open(stream, "").metadata


def parquet_ranges(stream, *, size: int, part_bytes: int) -> list[tuple[int, int]]:
    """Byte ranges of a Parquet file that can be analysed apart, in order:
    runs of whole row groups of about ``part_bytes``, from its footer only.
    One range for a small file, an unreadable one (its reader says why),
    or one whose row groups are not laid out in their order."""
    if size <= part_bytes:
        return [(0, size)]
    try:
        metadata = _parquet_metadata(stream, size)
        offsets = [_row_group_offset(metadata, group) for group in range(metadata.num_row_groups)]
    except (FileRejected, ValueError, IndexError, OSError):
        return [(0, size)]
    finally:
        stream.seek(0)
    return _entry_ranges(offsets, size=size, part_bytes=part_bytes)


def zip_ranges(stream, *, size: int, part_bytes: int) -> list[tuple[int, int]]:
    """Byte ranges of a ZIP archive that can be analysed apart, in order:
    runs of whole members of about ``part_bytes``, from its directory only.
    One range for a small archive, an unreadable one (its reader says why),
    or one whose members are not laid out in the directory's order."""
    if size <= part_bytes:
        return [(0, size)]
    try:
        with _unreadable(""):
            _archive, members = _open_zip(stream, "", size)
    except FileRejected:
        return [(0, size)]
    finally:
        stream.seek(0)
    return _entry_ranges([member.header_offset for member in members], size=size, part_bytes=part_bytes)


def _entry_ranges(offsets: list[int], *, size: int, part_bytes: int) -> list[tuple[int, int]]:
    """Runs of whole entries (row groups, members) starting at ``offsets``,
    of about ``part_bytes``; one range if the entries are not laid out in
    their order, as the reader gives them."""
    if not offsets or offsets[0] < 0 or any(a >= b for a, b in zip(offsets, [*offsets[1:], size])):
        return [(0, size)]
    cuts = [0]
    for offset in offsets[1:]:
        if offset - cuts[-1] >= part_bytes:
            cuts.append(offset)
    return list(zip(cuts, [*cuts[1:], size], strict=True))


def lines_before(stream, end: int) -> int:
    """The lines of a text file before byte ``end``, a range's start."""
    stream.seek(0)
    lines = position = 0
    while position < end and (chunk := stream.read(min(1 << 20, end - position))):
        lines += chunk.count(b"\n")
        position += len(chunk)
    return lines


def rows_before(stream, *, size: int, offset: int) -> int:
    """The rows of a Parquet file in the row groups before byte ``offset``."""
    metadata = _parquet_metadata(stream, size)
    return sum(
        metadata.row_group(group).num_rows
        for group in range(metadata.num_row_groups)
        if _row_group_offset(metadata, group) < offset
    )


def _check_bomb(source: str, declared: int, compressed: int) -> None:
    if declared > _expansion_limit(max(compressed, 1)):
        raise FileRejected(source, message("bomb.declared", compressed=compressed, declared=declared))


# ---------------------------------------------------------------- entry points


def upload_check(stream, *, name: str, fmt: str, options: FormatOptions, size: int) -> None:
    """The checks of a file in the web request: its first bytes for every
    format, the header of a CSV, a ZIP's directory, a small Parquet footer.
    Each reads a bounded amount whatever the file claims; members of
    archives and documents are the worker's. Raises ``FileRejected``."""
    source = safe_name(name)
    stream, _counter = _counted(stream)
    head = stream.peek(HEAD_SIZE)[:HEAD_SIZE]
    problem = sniff(head, fmt)
    if problem:
        raise FileRejected(source, problem)
    with _unreadable(source):
        if fmt in {"csv", "tsv"}:
            csv.field_size_limit(MAX_DOCUMENT_CHARS)
            lines = _RecordLines(_text(stream, head, fmt), MAX_HEADER_CHARS)
            _csv_header(lines, csv.reader(lines, delimiter=_delimiter(fmt)), source, options)
        elif fmt == "zip":
            _open_zip(stream, source, size)
        elif fmt == "parquet" and _parquet_footer(stream, source, size, in_request=True):
            _parquet_columns(_parquet_open(stream, source), source, options)


def read_documents(
    stream,
    *,
    name: str,
    fmt: str,
    options: FormatOptions,
    size: int | None = None,
    progress: ReadProgress | None = None,
    byte_range: LineRange | EntryRange | None = None,
) -> Iterator[RawDoc | Problem]:
    """Documents of one stored file (or archive member) of ``size`` bytes.
    ``progress``, when given, follows the reading in bytes of the file.
    ``byte_range`` reads only some lines of a JSON Lines file, or some row
    groups of a Parquet file (of ``size`` bytes still), with line numbers
    counted from the range's first line or row."""
    source = safe_name(name)
    with _unreadable(source):
        encoding = None
        if isinstance(byte_range, LineRange):
            # The encoding is the file's: read from its start. A byte order
            # mark is only one at the start of the file.
            head = byte_range.head
            encoding = detect_encoding(head)
            if encoding == "utf-8-sig" and byte_range.start > 0:
                encoding = "utf-8"
            stream, counter = buffered(byte_range)
        else:
            stream, counter = _counted(stream)
            head = stream.peek(HEAD_SIZE)[:HEAD_SIZE]
        progress = progress if progress is not None else ReadProgress()
        progress.total = size or 0
        problem = sniff(head, fmt)
        if problem:
            raise FileRejected(source, problem)
        if fmt == "zip":
            entries = byte_range if isinstance(byte_range, EntryRange) else None
            items = _read_zip(stream, source, options, size, progress, entries)
        elif fmt == "tar.gz":
            items = _read_tar(stream, source, options, size)
        elif fmt == "parquet":
            groups = byte_range if isinstance(byte_range, EntryRange) else None
            items = _read_parquet(stream, source, options, size, progress, groups)
        else:
            text = _text(stream, head, fmt, encoding)
            if fmt == "jsonl":
                items = _read_jsonl(text, source)
            elif fmt in {"csv", "tsv"}:
                header = None
                if isinstance(byte_range, LineRange) and byte_range.start > 0:
                    # A later range of the file: its header is whole in the
                    # file's first bytes (``csv_ranges`` cut it only then).
                    header = _head_text(head, fmt)
                items = _read_csv(text, source, options, _delimiter(fmt), header)
            else:
                items = _read_plain(text, source, options)
        # Text formats and tar.gz are read straight through: their progress is
        # the bytes read. ZIP and Parquet readers say where they are.
        sequential = fmt not in {"zip", "parquet"}
        # Counted on what comes out, whatever the format: a file whose text
        # expands far beyond its size is a bomb, however it was packed.
        limit = _expansion_limit(size) if size else None
        for item in items:
            if limit is not None and isinstance(item, RawDoc):
                progress.chars += len(item.text) + sum(len(v) for v in item.meta.values() if isinstance(v, str))
                if progress.chars > limit:
                    check_expansion(source, size or 0, progress.chars)
            if sequential:
                progress.done = min(counter.count, progress.total) if progress.total else counter.count
            yield item
        progress.done = progress.total


def check_expansion(source: str, size: int, chars: int) -> None:
    """FileRejected when a file of ``size`` stored bytes gave ``chars``
    characters, more than it may reasonably expand to: a bomb. Also checked
    across the parts of a file read apart."""
    limit = _expansion_limit(size)
    if chars > limit:
        raise FileRejected(source, message("bomb.text", size=size, limit=limit))


@contextmanager
def _unreadable(source: str) -> Iterator[None]:
    """Whatever a damaged file makes the decoders raise (corrupt deflate
    data, a schema pyarrow cannot take, a truncated structure) is a problem
    of that file, named, never an internal error."""
    import pyarrow as pa

    try:
        yield
    except FileRejected:
        raise
    except (zlib.error, struct.error, EOFError, OSError, ValueError, KeyError, IndexError, UnicodeError,
            zipfile.BadZipFile, tarfile.TarError, pa.ArrowException) as exc:
        raise FileRejected(source, message("format.unreadable", detail=type(exc).__name__)) from None


def _head_text(head: bytes, fmt: str) -> io.TextIOWrapper:
    """The first bytes of a file, decoded as its reader decodes the file:
    where a later range of a CSV file finds the header."""
    return _text(io.BufferedReader(io.BytesIO(head)), head, fmt)


def _delimiter(fmt: str) -> str:
    return "," if fmt == "csv" else "\t"


def _text(stream: io.BufferedReader, head: bytes, fmt: str, encoding: str | None = None) -> io.TextIOWrapper:
    return io.TextIOWrapper(
        stream, encoding=encoding or detect_encoding(head), errors="replace",
        newline="" if fmt in {"csv", "tsv"} else None,
    )


# ---------------------------------------------------------------- text formats


def _lines(text: io.TextIOWrapper) -> Iterator[tuple[int, str | None]]:
    """(line number, line) with the newline removed; None for a line longer
    than a document may be, which is read through without being kept."""
    number = 0
    while True:
        line = text.readline(MAX_DOCUMENT_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_DOCUMENT_CHARS:
            while line and not line.endswith("\n"):
                line = text.readline(1 << 20)
            yield number, None
        else:
            yield number, line.rstrip("\n")


def _too_long(source: str, line: int) -> Problem:
    return Problem(source, line, message("document.too_long", limit=MAX_DOCUMENT_CHARS))


def _read_plain(text: io.TextIOWrapper, source: str, options: FormatOptions) -> Iterator[RawDoc | Problem]:
    separator = options.separator.strip()

    def boundary(line: str | None) -> bool:
        if line is None:
            return False
        if options.split == "blank_lines":
            return not line.strip()
        return options.split == "separator" and line.strip() == separator

    def finish(parts: list[str], start: int, too_long: bool) -> RawDoc | Problem | None:
        if too_long:
            return _too_long(source, start)
        if any(part.strip() for part in parts):
            return RawDoc("\n".join(parts), source, start)
        return None

    parts: list[str] = []
    size, start, too_long = 0, None, False
    for number, line in _lines(text):
        if boundary(line):
            if start is not None and (doc := finish(parts, start, too_long)):
                yield doc
            parts, size, start, too_long = [], 0, None, False
            continue
        if start is None:
            start = number
        if too_long:
            continue
        if line is None or size + len(line) > MAX_DOCUMENT_CHARS:
            parts, too_long = [], True
            continue
        parts.append(line)
        size += len(line) + 1
    if start is not None and (doc := finish(parts, start, too_long)):
        yield doc


def _deeper_than(value: dict, limit: int) -> bool:
    """Whether ``value`` nests lists or objects more than ``limit`` levels,
    walked without recursion."""
    level: list[dict | list] = [value]
    depth = 1
    while level:
        if depth > limit:
            return True
        # One level at a time: no per-item bookkeeping for the common flat record.
        level = [
            child
            for item in level
            for child in (item.values() if type(item) is dict else item)
            if type(child) is dict or type(child) is list
        ]
        depth += 1
    return False


# What the JSON parsers say (orjson's words, and the standard library's),
# as codes: a parser's own words are English, written for programmers.
_JSON_ERRORS = [
    ("unexpected end of data", "json.end_of_data"),
    ("Unterminated string", "json.unterminated_string"),
    ("zero-length, empty document", "json.empty"),
    ("Expecting value", "json.expected_value"),
    ("expected a JSON value", "json.expected_value"),
    ("Expecting property name", "json.expected_key"),
    ("expected a string key", "json.expected_key"),
    ("Expecting ':'", "json.expected_colon"),
    ("expected ':'", "json.expected_colon"),
    ("Expecting ','", "json.expected_comma"),
    ("expected ','", "json.expected_comma"),
    ("Extra data", "json.extra_data"),
    ("content after document", "json.extra_data"),
    ("control character", "json.control_character"),
    ("trailing comma", "json.trailing_comma"),
    ("Invalid \\", "json.invalid_escape"),
    ("escaped sequence", "json.invalid_escape"),
    ("surrogate", "json.invalid_escape"),
    ("invalid literal", "json.invalid_literal"),
    ("is infinity", "json.number_too_large"),
    ("unexpected character", "json.unexpected_character"),
]


def json_error(exc: json.JSONDecodeError) -> Message:
    """A JSON parser's error (orjson's is the standard library's class) as
    a message: the column, and what is wrong in words of the reader's
    language; a parser's words that are not known stay as a detail."""
    said = exc.msg.lower()
    for words, code in _JSON_ERRORS:
        if words.lower() in said:
            return message("json.invalid", column=exc.colno, reason=message(code))
    return message("json.invalid_at", column=exc.colno, detail=exc.msg)


def _read_jsonl(text: io.TextIOWrapper, source: str) -> Iterator[RawDoc | Problem]:
    for number, line in _lines(text):
        if line is None:
            yield _too_long(source, number)
            continue
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            yield Problem(source, number, json_error(exc))
            continue
        if not isinstance(record, dict):
            yield Problem(source, number, message("json.not_object"))
            continue
        value = record.pop("text", None)
        if not isinstance(value, str):
            yield Problem(source, number, message("json.no_text"))
            continue
        # The metadata is written back as JSON with each document: orjson
        # writes no more than 255 levels, and nothing real needs 32. No
        # record nests deeper than it has brackets: most need no walk.
        if line.count("{") + line.count("[") > MAX_JSON_DEPTH and _deeper_than(record, MAX_JSON_DEPTH):
            yield Problem(source, number, message("json.too_deep", limit=MAX_JSON_DEPTH))
            continue
        yield RawDoc(value, source, number, record)


class _RecordTooLong(Exception):
    pass


class _RecordLines:
    """Physical lines for ``csv.reader``, read with a bound. A record (one
    line, or several when a quoted field holds newlines) longer than
    ``limit`` characters is read through in bounded pieces up to its end,
    then ``_RecordTooLong`` is raised in place of a line; csv.reader starts
    afresh at the next call. An iterator object rather than a generator:
    it keeps working after raising."""

    def __init__(self, text: io.TextIOWrapper, limit: int) -> None:
        self.text, self.limit = text, limit
        self.lines = 0  # physical lines read so far
        self.chars = self.quotes = 0  # of the record under way

    def __iter__(self) -> _RecordLines:
        return self

    def start_record(self) -> int:
        """Called before each row; returns the line the row starts on."""
        self.chars = self.quotes = 0
        return self.lines + 1

    def __next__(self) -> str:
        line = self.text.readline(self.limit - self.chars + 1)
        if not line:
            raise StopIteration
        self.chars += len(line)
        self.quotes += line.count('"')
        if self.chars <= self.limit:
            self.lines += 1
            return line
        # A record ends at a line end where its quotes are balanced.
        while True:
            if line.endswith(("\n", "\r")):
                self.lines += 1
                if not self.quotes % 2:
                    break
            line = self.text.readline(1 << 20)
            if not line:
                self.lines += 1
                break
            self.quotes += line.count('"')
        raise _RecordTooLong


def _csv_header(lines: _RecordLines, reader, source: str, options: FormatOptions) -> tuple[list[str], int]:
    try:
        header = next(reader)
    except StopIteration:
        raise FileRejected(source, message("format.empty")) from None
    except _RecordTooLong:
        raise FileRejected(source, message("csv.header_too_long", limit=lines.limit), 1) from None
    except csv.Error as exc:
        raise FileRejected(source, message("csv.header_unreadable", reason=_csv_error(exc)), 1) from None
    header = [h.lstrip("\ufeff").strip() for h in header]
    column = options.text_column.strip()
    if column not in header:
        shown = ", ".join(safe_name(h) for h in header[:20])
        raise FileRejected(source, message("csv.no_column", column=safe_name(column), columns=shown), 1)
    return header, header.index(column)


def _csv_error(exc: csv.Error) -> Message:
    """What the csv module says is wrong with a record, in words of the
    reader's language (its own words stay as a detail)."""
    said = str(exc)
    if "NUL" in said:
        return message("csv.nul")
    if "field larger than field limit" in said:
        return message("csv.field_too_long", limit=MAX_DOCUMENT_CHARS)
    if "new-line character" in said:
        return message("csv.newline")
    return message("csv.malformed", detail=said)


def _read_csv(
    text: io.TextIOWrapper, source: str, options: FormatOptions, delimiter: str,
    header_text: io.TextIOWrapper | None = None,
) -> Iterator[RawDoc | Problem]:
    """Rows of ``text``, after its header or, for a range of a file after its
    first, after the file's header in ``header_text``."""
    csv.field_size_limit(MAX_DOCUMENT_CHARS)
    lines = _RecordLines(header_text or text, MAX_HEADER_CHARS)
    reader = csv.reader(lines, delimiter=delimiter)
    header, index = _csv_header(lines, reader, source, options)
    if header_text is not None:
        lines = _RecordLines(text, MAX_RECORD_CHARS)
        reader = csv.reader(lines, delimiter=delimiter)
    lines.limit = MAX_RECORD_CHARS
    errors_in_a_row = 0
    while True:
        line = lines.start_record()
        try:
            row = next(reader)
        except StopIteration:
            return
        except _RecordTooLong:
            yield Problem(source, line, message("csv.row_too_long", limit=MAX_RECORD_CHARS))
            continue
        except csv.Error as exc:
            errors_in_a_row += 1
            yield Problem(source, line, message("csv.row_unreadable", reason=_csv_error(exc)))
            if errors_in_a_row > 100:
                raise FileRejected(source, message("csv.too_many_errors"), line) from None
            continue
        errors_in_a_row = 0
        if not row:
            continue
        if len(row) != len(header):
            yield Problem(source, line, message("csv.columns", found=len(row), expected=len(header)))
            continue
        meta = {h: v for i, (h, v) in enumerate(zip(header, row, strict=True)) if i != index}
        yield RawDoc(row[index], source, line, meta)


# ---------------------------------------------------------------- Parquet


class _TooManyEntries(Exception):
    pass


def _thrift_entries(data: bytes, limit: int, max_depth: int = 64) -> int:
    """Structures in a Thrift compact-protocol message (a Parquet footer),
    counted by walking it without building anything. Raises ValueError when
    the message is malformed or a list claims more than its bytes can hold,
    ``_TooManyEntries`` past ``limit``."""
    n, pos, entries = len(data), 0, 1
    # [-1, None]: a struct; [left, (kinds)]: a list or map with values left.
    stack: list[list] = [[-1, None]]

    def varint() -> int:
        nonlocal pos
        shift = result = 0
        while True:
            if pos >= n or shift > 63:
                raise ValueError("truncated number")
            byte = data[pos]
            pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7

    while stack:
        top = stack[-1]
        if top[0] < 0:
            if pos >= n:
                raise ValueError("truncated structure")
            byte = data[pos]
            pos += 1
            if not byte:
                stack.pop()
                continue
            kind, in_container = byte & 0x0F, False
            if not byte >> 4:
                varint()  # field id given in full
        else:
            if not top[0]:
                stack.pop()
                continue
            kind, in_container = top[1][top[0] % 2], True
            top[0] -= 1
        if kind in (1, 2):  # booleans: in the field header, a byte in lists
            pos += in_container
        elif kind == 3:
            pos += 1
        elif kind in (4, 5, 6):
            varint()
        elif kind == 7:
            pos += 8
        elif kind == 8:
            length = varint()
            pos += length
        elif kind in (9, 10):
            if pos >= n:
                raise ValueError("truncated list")
            header = data[pos]
            pos += 1
            size = header >> 4
            if size == 15:
                size = varint()
            if size > n - pos:
                raise ValueError("a list claims more than its bytes")
            stack.append([size, (header & 0x0F, header & 0x0F)])
        elif kind == 11:
            size = varint()
            if size:
                if pos >= n:
                    raise ValueError("truncated map")
                kinds = data[pos]
                pos += 1
                if 2 * size > n - pos:
                    raise ValueError("a map claims more than its bytes")
                stack.append([2 * size, (kinds >> 4, kinds & 0x0F)])
        elif kind == 12:
            entries += 1
            if entries > limit:
                raise _TooManyEntries
            stack.append([-1, None])
        else:
            raise ValueError(f"unknown type {kind}")
        if pos > n:
            raise ValueError("truncated value")
        if len(stack) > max_depth:
            raise ValueError("nested too deeply")
    return entries


def _stream_size(stream) -> int:
    position = stream.tell()
    size = stream.seek(0, io.SEEK_END)
    stream.seek(position)
    return size


def _parquet_footer(stream, source: str, size: int, *, in_request: bool = False) -> bool:
    """Measures the footer of a Parquet file before pyarrow reads it.
    Returns False when it is too large to parse in a web request (the
    worker, with larger bounds, will say); raises ``FileRejected``."""
    max_size = UPLOAD_PARQUET_FOOTER if in_request else MAX_PARQUET_FOOTER
    max_entries = UPLOAD_PARQUET_FOOTER_ENTRIES if in_request else MAX_PARQUET_FOOTER_ENTRIES
    if size < 12:
        raise FileRejected(source, message("format.not_parquet"))
    stream.seek(size - 8)
    tail = stream.read(8)
    if tail[4:] != b"PAR1":
        raise FileRejected(source, message("format.not_parquet"))
    length = struct.unpack("<I", tail[:4])[0]
    if length > size - 12:
        raise FileRejected(source, message("parquet.footer_past_file"))
    if length > max_size:
        if in_request:
            return False
        raise FileRejected(source, message("parquet.footer_too_large", size=length, limit=max_size))
    stream.seek(size - 8 - length)
    footer = stream.read(length)
    stream.seek(0)
    try:
        _thrift_entries(footer, max_entries)
    except _TooManyEntries:
        if in_request:
            return False
        raise FileRejected(source, message("parquet.too_many_entries", limit=max_entries)) from None
    except ValueError as exc:
        raise FileRejected(source, message("parquet.unreadable", detail=str(exc))) from None
    return True


def _parquet_open(stream, source: str, **kwargs):
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        # Column chunks are read a megabyte at a time, not whole.
        return pq.ParquetFile(
            stream,
            pre_buffer=False,
            buffer_size=1 << 20,
            thrift_string_size_limit=MAX_PARQUET_FOOTER,
            thrift_container_size_limit=MAX_PARQUET_FOOTER_ENTRIES,
            **kwargs,
        )
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected(source, message("parquet.unreadable", detail=str(exc))) from None


def _is_text(kind) -> bool:
    import pyarrow as pa

    if pa.types.is_dictionary(kind):  # written from a categorical column
        kind = kind.value_type
    return pa.types.is_string(kind) or pa.types.is_large_string(kind)


def _parquet_columns(parquet, source: str, options: FormatOptions) -> tuple[str, list[str]]:
    """The text column and the scalar columns kept as metadata."""
    import pyarrow as pa

    column = options.text_column.strip() or "text"
    schema = parquet.schema_arrow
    if column not in schema.names:
        raise FileRejected(source, message(
            "csv.no_column", column=safe_name(column), columns=", ".join(safe_name(n) for n in schema.names[:20])
        ))
    names = Counter(schema.names)
    if names[column] > 1:
        raise FileRejected(source, message("parquet.same_name", count=names[column], column=safe_name(column)))
    if not _is_text(schema.field(column).type):
        raise FileRejected(source, message("parquet.not_text", column=safe_name(column)))
    # A name that two columns share says nothing of either: left out.
    scalar = [
        f.name for f in schema
        if f.name != column and names[f.name] == 1 and (pa.types.is_primitive(f.type) or _is_text(f.type))
    ]
    return column, scalar


def _page_header_sizes(data: bytes) -> tuple[int, int] | None:
    """(page type, uncompressed size) from the start of a Parquet page
    header (Thrift compact: fields 1 and 2, both i32); None if unreadable."""
    fields: dict[int, int] = {}
    pos = field_id = 0
    while len(fields) < 2 and pos < len(data):
        byte = data[pos]
        pos += 1
        if byte & 0x0F != 5 or not byte >> 4:  # an i32 with a short field id
            return None
        field_id += byte >> 4
        value = shift = 0
        while pos < len(data):
            part = data[pos]
            pos += 1
            value |= (part & 0x7F) << shift
            shift += 7
            if not part & 0x80:
                break
        fields[field_id] = (value >> 1) ^ -(value & 1)
    return (fields[1], fields[2]) if {1, 2} <= fields.keys() else None


def _parquet_batch_rows(stream, metadata, group: int, columns: set[str]) -> int:
    """Rows per batch for a row group, so that a batch decodes to about
    PARQUET_BATCH_BYTES: a dictionary entry can be as long as its whole
    dictionary page, and every row may repeat it."""
    row_group = metadata.row_group(group)
    rows = max(row_group.num_rows, 1)
    chunks = [row_group.column(j) for j in range(row_group.num_columns)]
    chunks = [chunk for chunk in chunks if chunk.path_in_schema in columns]
    longest = max(1, sum(chunk.total_uncompressed_size for chunk in chunks) // rows)
    for chunk in chunks:
        stream.seek(_chunk_offset(chunk))
        header = _page_header_sizes(stream.read(64))
        if header is None:
            return 1
        if header[0] == 2:  # DICTIONARY_PAGE
            longest = max(longest, header[1])
    return max(1, min(PARQUET_BATCH_ROWS, PARQUET_BATCH_BYTES // longest))


def _read_parquet(
    stream, source: str, options: FormatOptions, size: int | None, progress: ReadProgress,
    groups: EntryRange | None = None,
) -> Iterator[RawDoc | Problem]:
    import pyarrow as pa

    size = size or _stream_size(stream)
    _parquet_footer(stream, source, size)
    parquet = _parquet_open(stream, source)
    column, scalar = _parquet_columns(parquet, source, options)
    metadata = parquet.metadata
    rows = max(metadata.num_rows, sum(metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)))
    max_rows = max(BOMB_MIN_ROWS, size)

    def too_many_rows(count: int) -> FileRejected:
        return FileRejected(source, message("bomb.rows", rows=count, size=size))

    if rows > max_rows:
        raise too_many_rows(rows)
    wanted = {column, *scalar}
    declared = sum(
        chunk.total_uncompressed_size
        for i in range(metadata.num_row_groups)
        for chunk in (metadata.row_group(i).column(j) for j in range(metadata.num_columns))
        if chunk.path_in_schema in wanted
    )
    _check_bomb(source, declared, size)
    selected = list(range(metadata.num_row_groups))
    span, span_rows = size, rows
    if groups is not None:
        selected = [g for g in range(metadata.num_row_groups)
                    if groups.start <= _row_group_offset(metadata, g) < groups.end]
        span, span_rows = groups.end - groups.start, sum(metadata.row_group(g).num_rows for g in selected)
        progress.total = span
    row = 0
    try:
        for group in selected:
            batch_rows = _parquet_batch_rows(stream, metadata, group, wanted)
            stream.seek(0)
            for batch in parquet.iter_batches(batch_size=batch_rows, row_groups=[group], columns=[column, *scalar]):
                texts = batch.column(0).to_pylist()
                metas = batch.select(scalar).to_pylist() if scalar else [{}] * len(texts)
                for value, meta in zip(texts, metas, strict=True):
                    row += 1
                    if row > max_rows:
                        raise too_many_rows(row)
                    progress.done = min(row * span // max(span_rows, 1), span)
                    if value is None:
                        yield Problem(source, row, message("parquet.empty_text"))
                    elif len(value) > MAX_DOCUMENT_CHARS:
                        yield _too_long(source, row)
                    else:
                        yield RawDoc(value, source, row, meta)
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected(source, message("parquet.data_unreadable", detail=str(exc)), row + 1) from None
    if groups is not None:
        groups.lines = row


# ---------------------------------------------------------------- archives


def _member_problem(source: str, name: str) -> Message | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return message("member.absolute")
    if ".." in path.parts:
        return message("member.outside")
    if name.lower().endswith(NESTED_ARCHIVE_SUFFIXES):
        return message("member.nested")
    if format_of(name) not in TEXT_FORMATS | {"parquet"}:
        return message("member.unsupported")
    return None


def _too_many_members(source: str) -> FileRejected:
    return FileRejected(source, message("archive.too_many_members", limit=MAX_ARCHIVE_MEMBERS))


def _check_zip_directory(stream, source: str) -> None:
    """Walks the central directory by the fixed part of each entry before
    zipfile reads it whole and makes an object of every entry: refuses a
    directory larger, or with more entries, than an archive may have."""
    try:
        # The same search of the end record as zipfile's: a bounded read
        # of the file's last 64 kB.
        end = zipfile._EndRecData(stream)
    except OSError:
        end = None
    if not end:
        return  # zipfile says what is wrong
    directory_size = end[zipfile._ECD_SIZE]
    if directory_size > MAX_ZIP_DIRECTORY:
        raise FileRejected(source, message("zip.directory_too_large", size=directory_size, limit=MAX_ZIP_DIRECTORY))
    if end[zipfile._ECD_ENTRIES_TOTAL] > MAX_ARCHIVE_MEMBERS:
        raise _too_many_members(source)
    start = end[zipfile._ECD_LOCATION] - directory_size
    if end[zipfile._ECD_SIGNATURE] == zipfile.stringEndArchive64:
        start -= zipfile.sizeEndCentDir64 + zipfile.sizeEndCentDir64Locator
    if start < 0:
        return
    stream.seek(start)
    walked = entries = 0
    while walked < directory_size:
        fixed = stream.read(zipfile.sizeCentralDir)
        if len(fixed) != zipfile.sizeCentralDir or fixed[:4] != b"PK\x01\x02":
            return
        variable = sum(struct.unpack("<HHH", fixed[28:34]))
        stream.seek(variable, io.SEEK_CUR)
        walked += zipfile.sizeCentralDir + variable
        entries += 1
        if entries > MAX_ARCHIVE_MEMBERS:
            raise _too_many_members(source)


def _open_zip(stream, source: str, size: int | None) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    _check_zip_directory(stream, source)
    try:
        archive = zipfile.ZipFile(stream)
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as exc:
        raise FileRejected(source, message("zip.invalid", detail=str(exc))) from None
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise _too_many_members(source)
    _check_bomb(source, sum(m.file_size for m in members), size or sum(m.compress_size for m in members))
    return archive, members


def _read_zip(
    stream, source: str, options: FormatOptions, size: int | None, progress: ReadProgress,
    entries: EntryRange | None = None,
) -> Iterator[RawDoc | Problem]:
    archive, members = _open_zip(stream, source, size)
    counter = stream.raw
    first = 0  # where progress counts from: a range's start
    if entries is not None:
        members = [info for info in members if entries.start <= info.header_offset < entries.end]
        first, size = entries.start, entries.end - entries.start
        progress.total = size
    for info in members:
        if info.is_dir():
            continue
        name = f"{source}/{safe_name(info.filename)}"
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            yield Problem(name, None, message("member.link"))
            continue
        # Many tools leave the file type out (0): that is a regular file.
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            yield Problem(name, None, message("member.special"))
            continue
        problem = _member_problem(source, info.filename)
        if problem:
            yield Problem(name, None, problem)
            continue
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # zipfile hands a whole compressed chunk to the bzip2 and lzma
            # decompressors, which may expand it a millionfold at once.
            method = zipfile.compressor_names.get(info.compress_type, str(info.compress_type))
            yield Problem(name, None, message("zip.compression", method=method))
            continue
        start = counter.count
        try:
            with archive.open(info) as member:
                reader, _counter = buffered(member)
                for item in _member_documents(reader, name, info.filename, options, info.file_size):
                    if size:
                        progress.done = min(size, info.header_offset - first + counter.count - start)
                    yield item
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError, EOFError) as exc:
            # Encrypted or corrupt members, unsupported compression.
            yield Problem(name, None, _zip_member_error(exc))


def _zip_member_error(exc: Exception) -> Message:
    said = str(exc)
    if "encrypted" in said:
        return message("member.encrypted")
    if "Bad CRC-32" in said:
        return message("member.damaged")
    return message("member.unreadable", detail=f"{type(exc).__name__}: {said}")


class _HeaderRefused(Exception):
    def __init__(self, what: Message) -> None:
        self.message = what
        super().__init__(what)


def _extended_too_large(size: int) -> _HeaderRefused:
    return _HeaderRefused(message("tar.extended_too_large", size=size, limit=MAX_EXTENDED_HEADER))


_EXTENDED_TYPES = (tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK, tarfile.XHDTYPE, tarfile.SOLARIS_XHDTYPE)


class _BoundedTarInfo(tarfile.TarInfo):
    """tarfile reads extended headers (GNU long names and links, pax records,
    sparse maps) whole into memory on the word of their size field: this
    refuses the ones that claim more than a name ever needs, before reading
    them, and chains of them."""

    @classmethod
    def fromtarfile(cls, archive):
        depth = getattr(archive, "_openllm_header_depth", 0)
        if depth > MAX_HEADER_CHAIN:
            raise _HeaderRefused(message("tar.header_chain", limit=MAX_HEADER_CHAIN))
        archive._openllm_header_depth = depth + 1
        try:
            return super().fromtarfile(archive)
        finally:
            archive._openllm_header_depth = depth

    def _proc_member(self, archive):
        if self.type in _EXTENDED_TYPES and self.size > MAX_EXTENDED_HEADER:
            raise _extended_too_large(self.size)
        if self.type == tarfile.XGLTYPE:
            # Global headers add up for the rest of the archive.
            total = getattr(archive, "_openllm_global_headers", 0) + self.size
            if total > MAX_EXTENDED_HEADER:
                raise _extended_too_large(total)
            archive._openllm_global_headers = total
        return super()._proc_member(archive)

    def _proc_sparse(self, archive):
        # Extension blocks follow while each says another does. Sparse
        # members are never opened: their map is skipped, not kept.
        structs, extended, real_size = self._sparse_structs
        del self._sparse_structs
        blocks = 0
        while extended:
            blocks += 1
            if blocks * tarfile.BLOCKSIZE > MAX_EXTENDED_HEADER:
                raise _extended_too_large(blocks * tarfile.BLOCKSIZE)
            block = archive.fileobj.read(tarfile.BLOCKSIZE)
            extended = len(block) == tarfile.BLOCKSIZE and bool(block[504])
        self.sparse = structs
        self.offset_data = archive.fileobj.tell()
        archive.offset = self.offset_data + self._block(self.size)
        self.size = real_size
        return self

    def _proc_gnusparse_10(self, next, pax_headers, archive):
        # The map's length is a number in the data, read block by block
        # until that many numbers have come. Skipped with a bound, as above.
        data = archive.fileobj.read(tarfile.BLOCKSIZE)
        count, _newline, data = data.partition(b"\n")
        try:
            numbers = 2 * int(count)
        except ValueError:
            raise _HeaderRefused(message("tar.sparse_map")) from None
        read = tarfile.BLOCKSIZE
        while data.count(b"\n") < numbers:
            if read >= MAX_EXTENDED_HEADER:
                raise _extended_too_large(read)
            block = archive.fileobj.read(tarfile.BLOCKSIZE)
            if not block:
                break
            data += block
            read += len(block)
        next.offset_data = archive.fileobj.tell()
        next.sparse = []


# What the checks of a safe extraction (tarfile's "data" filter) refuse, by
# the name of their exception.
_TAR_REFUSED = {
    "AbsolutePathError": message("member.absolute"),
    "OutsideDestinationError": message("member.outside"),
    "SpecialFileError": message("member.special"),
    "AbsoluteLinkError": message("member.link"),
    "LinkOutsideDestinationError": message("member.link"),
    "LinkFallbackError": message("member.link"),
}


def _read_tar(stream, source: str, options: FormatOptions, size: int | None) -> Iterator[RawDoc | Problem]:
    count = 0
    try:
        archive = tarfile.open(fileobj=stream, mode="r|gz", tarinfo=_BoundedTarInfo)
        while (member := archive.next()) is not None:
            # A streamed archive keeps every header it read; none is needed.
            archive.members.clear()
            count += 1
            if count > MAX_ARCHIVE_MEMBERS:
                raise _too_many_members(source)
            # All that comes before the next header is decompressed, read or
            # skipped: checked against the whole archive's size, since what
            # was read so far says nothing of the members still to come.
            _check_bomb(source, archive.offset, size if size else archive.offset)
            if member.isdir():
                continue
            name = f"{source}/{safe_name(member.name)}"
            problem = _member_problem(source, member.name)
            if problem is None:
                try:
                    # The checks of extracting with filter="data", which
                    # would also refuse links out and device files.
                    member = tarfile.data_filter(member, "/nonexistent-destination")
                except tarfile.FilterError as exc:
                    problem = _TAR_REFUSED.get(type(exc).__name__) or message(
                        "member.refused", detail=type(exc).__name__)
            if problem is None and (member.issym() or member.islnk()):
                problem = message("member.link")
            elif problem is None and (not member.isreg() or member.issparse()):
                problem = message("member.special")
            if problem:
                yield Problem(name, None, problem)
                continue
            if format_of(member.name) == "parquet":
                # Parquet needs to seek; members of a streamed tar cannot.
                yield Problem(name, None, message("parquet.in_tar"))
                continue
            extracted = archive.extractfile(member)
            if extracted is None:
                continue
            reader, _counter = buffered(extracted)
            yield from _member_documents(reader, name, member.name, options, member.size)
    except _HeaderRefused as exc:
        raise FileRejected(source, exc.message) from None
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise FileRejected(source, message("tar.invalid", detail=f"{type(exc).__name__}: {exc}")) from None


def _member_documents(
    reader, name: str, filename: str, options: FormatOptions, size: int
) -> Iterator[RawDoc | Problem]:
    try:
        yield from read_documents(reader, name=name, fmt=format_of(filename) or "", options=options, size=size)
    except FileRejected as exc:
        # One bad member does not sink the archive.
        yield exc.problem
