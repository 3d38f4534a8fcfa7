"""Reading submitted files as a stream of documents.

Every reader takes a binary stream and yields ``RawDoc`` (a document) or
``Problem`` (a record skipped, with the file and line). A problem that makes
the whole file unusable raises ``FileRejected``. Nothing is ever extracted to
disk, and no reader holds more than one document in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import stat
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import orjson
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

# One document: beyond this, it is skipped with a message naming its line.
MAX_DOCUMENT_CHARS = 10_000_000
# Archives: how many members, how much once decompressed, and how much more
# than its compressed size an archive may claim before it is taken for a bomb.
MAX_ARCHIVE_MEMBERS = 10_000
MAX_ARCHIVE_UNCOMPRESSED = 20 * 1024**3
MAX_COMPRESSION_RATIO = 100
BOMB_MIN_SIZE = 100 * 1024**2
HEAD_SIZE = 64 * 1024

TEXT_FORMATS = {"txt", "md", "jsonl", "csv", "tsv"}
FORMATS = TEXT_FORMATS | {"parquet", "zip", "tar.gz"}
NESTED_ARCHIVE_SUFFIXES = (".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar", ".zst")

MAGIC = [
    (b"\x89PNG", gettext_lazy("a PNG image")),
    (b"\xff\xd8\xff", gettext_lazy("a JPEG image")),
    (b"GIF87a", gettext_lazy("a GIF image")),
    (b"GIF89a", gettext_lazy("a GIF image")),
    (b"%PDF", gettext_lazy("a PDF document")),
    (b"MZ", gettext_lazy("a Windows executable")),
    (b"\x7fELF", gettext_lazy("an executable (ELF)")),
    (b"\xca\xfe\xba\xbe", gettext_lazy("an executable (Mach-O or Java class)")),
    (b"PK\x03\x04", gettext_lazy("a ZIP archive")),
    (b"PK\x05\x06", gettext_lazy("a ZIP archive")),
    (b"\x1f\x8b", gettext_lazy("a gzip-compressed file")),
    (b"BZh", gettext_lazy("a bzip2-compressed file")),
    (b"\xfd7zXZ", gettext_lazy("an xz-compressed file")),
    (b"7z\xbc\xaf", gettext_lazy("a 7z archive")),
    (b"Rar!", gettext_lazy("a RAR archive")),
    (b"PAR1", gettext_lazy("a Parquet file")),
    (b"RIFF", gettext_lazy("an audio or video file")),
    (b"OggS", gettext_lazy("an audio file")),
    (b"ID3", gettext_lazy("an MP3 file")),
    (b"\x00\x00\x00\x18ftyp", gettext_lazy("a video file")),
    (b"\x00\x00\x00\x20ftyp", gettext_lazy("a video file")),
    (b"SQLite format 3", gettext_lazy("a SQLite database")),
    (b"\xd0\xcf\x11\xe0", gettext_lazy("an Office document")),
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
    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        if self.line:
            return _("%(source)s, line %(line)s: %(message)s") % {
                "source": self.source,
                "line": self.line,
                "message": self.message,
            }
        return _("%(source)s: %(message)s") % {"source": self.source, "message": self.message}


class FileRejected(Exception):
    def __init__(self, source: str, message: str, line: int | None = None) -> None:
        self.problem = Problem(source, line, message)
        super().__init__(str(self.problem))


def format_of(name: str) -> str | None:
    lower = name.lower()
    if lower.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    suffix = PurePosixPath(lower).suffix.lstrip(".")
    return suffix if suffix in FORMATS else None


def safe_name(name: str) -> str:
    """A member or file name fit for a message: no control characters."""
    return "".join(ch if ch.isprintable() else "?" for ch in name)[:300]


def sniff(head: bytes, fmt: str) -> str | None:
    """What is wrong with a file whose first bytes are ``head``, for the
    format its name claims; None when the content fits."""
    if not head:
        return _("the file is empty")
    if fmt == "parquet":
        return None if head.startswith(b"PAR1") else _("the content is not a Parquet file")
    if fmt == "zip":
        return None if head.startswith((b"PK\x03\x04", b"PK\x05\x06")) else _("the content is not a ZIP archive")
    if fmt == "tar.gz":
        return None if head.startswith(b"\x1f\x8b") else _("the content is not a gzip-compressed tar archive")
    for magic, what in MAGIC:
        if head.startswith(magic):
            return _("the content is not text: it looks like %(what)s") % {"what": what}
    encoding = detect_encoding(head)
    if encoding.startswith("utf-16"):
        return None
    sample = head.lstrip(codecs.BOM_UTF8).lstrip()[:512].lower()
    if sample.startswith((b"<!doctype html", b"<html")) or (b"<head" in sample and b"<body" in head.lower()):
        return _("the content is HTML, not plain text: extract the text first")
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    if control > len(head) * 0.05:
        return _("the content is binary data, not text")
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
            raise FileRejected(self.source, _("decompression bomb: the archive expands far beyond its size"))
        return n


def buffered(stream, limit: int | None = None, source: str = "") -> tuple[io.BufferedReader, _Counting]:
    counter = _Counting(stream, limit, source)
    return io.BufferedReader(counter, buffer_size=1 << 20), counter


def read_documents(
    stream: io.BufferedReader, *, name: str, fmt: str, options: FormatOptions, size: int | None = None
) -> Iterator[RawDoc | Problem]:
    """Documents of one stored file (or archive member)."""
    source = safe_name(name)
    head = stream.peek(HEAD_SIZE)[:HEAD_SIZE]
    problem = sniff(head, fmt)
    if problem:
        raise FileRejected(source, problem)
    if fmt == "zip":
        yield from _read_zip(stream, source, options)
    elif fmt == "tar.gz":
        yield from _read_tar(stream, source, options, size)
    elif fmt == "parquet":
        yield from _read_parquet(stream, source, options)
    else:
        text = io.TextIOWrapper(
            stream, encoding=detect_encoding(head), errors="replace", newline="" if fmt in {"csv", "tsv"} else None
        )
        if fmt == "jsonl":
            yield from _read_jsonl(text, source)
        elif fmt in {"csv", "tsv"}:
            yield from _read_csv(text, source, options, delimiter="," if fmt == "csv" else "\t")
        else:
            yield from _read_plain(text, source, options)


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
    return Problem(
        source, line, _("document longer than %(limit)s characters: skipped") % {"limit": f"{MAX_DOCUMENT_CHARS:,}"}
    )


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
            yield Problem(source, number, _("invalid JSON (%(error)s)") % {"error": exc})
            continue
        if not isinstance(record, dict):
            yield Problem(source, number, _("a JSON object is expected on each line"))
            continue
        value = record.pop("text", None)
        if not isinstance(value, str):
            yield Problem(source, number, _('no "text" field with a string'))
            continue
        yield RawDoc(value, source, number, record)


def _read_csv(
    text: io.TextIOWrapper, source: str, options: FormatOptions, delimiter: str
) -> Iterator[RawDoc | Problem]:
    csv.field_size_limit(MAX_DOCUMENT_CHARS)
    reader = csv.reader(text, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise FileRejected(source, _("the file is empty")) from None
    except csv.Error as exc:
        raise FileRejected(source, _("unreadable header (%(error)s)") % {"error": exc}, 1) from None
    header = [h.lstrip("\ufeff").strip() for h in header]
    column = options.text_column.strip()
    if column not in header:
        shown = ", ".join(safe_name(h) for h in header[:20])
        raise FileRejected(
            source,
            _('no column "%(column)s" (columns: %(columns)s)') % {"column": safe_name(column), "columns": shown},
            1,
        )
    index = header.index(column)
    errors_in_a_row = 0
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors_in_a_row += 1
            yield Problem(source, line, _("unreadable row (%(error)s)") % {"error": exc})
            if errors_in_a_row > 100:
                raise FileRejected(source, _("too many unreadable rows in a row"), line) from None
            continue
        errors_in_a_row = 0
        if not row:
            continue
        if len(row) != len(header):
            yield Problem(
                source,
                line,
                _("%(found)s columns where the header has %(expected)s: skipped")
                % {"found": len(row), "expected": len(header)},
            )
            continue
        meta = {h: v for i, (h, v) in enumerate(zip(header, row, strict=True)) if i != index}
        yield RawDoc(row[index], source, line, meta)


def _read_parquet(stream, source: str, options: FormatOptions) -> Iterator[RawDoc | Problem]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(stream)
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected(source, _("unreadable Parquet file (%(error)s)") % {"error": exc}) from None
    column = options.text_column.strip() or "text"
    schema = parquet.schema_arrow
    if column not in schema.names:
        raise FileRejected(
            source,
            _('no column "%(column)s" (columns: %(columns)s)')
            % {"column": safe_name(column), "columns": ", ".join(schema.names[:20])},
        )
    if not (pa.types.is_string(schema.field(column).type) or pa.types.is_large_string(schema.field(column).type)):
        raise FileRejected(source, _('column "%(column)s" is not text') % {"column": safe_name(column)})
    scalar = [
        f.name for f in schema if f.name != column and (pa.types.is_primitive(f.type) or pa.types.is_string(f.type))
    ]
    row = 0
    try:
        for batch in parquet.iter_batches(batch_size=256, columns=[column, *scalar]):
            texts = batch.column(0).to_pylist()
            metas = batch.select(scalar).to_pylist() if scalar else [{}] * len(texts)
            for value, meta in zip(texts, metas, strict=True):
                row += 1
                if value is None:
                    yield Problem(source, row, _("empty text"))
                elif len(value) > MAX_DOCUMENT_CHARS:
                    yield _too_long(source, row)
                else:
                    yield RawDoc(value, source, row, meta)
    except (pa.ArrowException, OSError) as exc:
        raise FileRejected(source, _("unreadable Parquet data (%(error)s)") % {"error": exc}, row + 1) from None


def _member_problem(source: str, name: str) -> str | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return _("absolute path: not opened")
    if ".." in path.parts:
        return _("path goes outside the archive (..): not opened")
    if name.lower().endswith(NESTED_ARCHIVE_SUFFIXES):
        return _("nested archive: not opened")
    if format_of(name) not in TEXT_FORMATS | {"parquet"}:
        return _("unsupported file type: skipped")
    return None


def _check_bomb(source: str, declared: int, compressed: int) -> None:
    if declared > MAX_ARCHIVE_UNCOMPRESSED or (
        declared > BOMB_MIN_SIZE and declared > MAX_COMPRESSION_RATIO * max(compressed, 1)
    ):
        raise FileRejected(
            source,
            _("decompression bomb: %(compressed)s bytes claim to expand to %(declared)s bytes")
            % {"compressed": f"{compressed:,}", "declared": f"{declared:,}"},
        )


def _read_zip(stream, source: str, options: FormatOptions) -> Iterator[RawDoc | Problem]:
    try:
        archive = zipfile.ZipFile(stream)
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise FileRejected(source, _("not a valid ZIP archive (%(error)s)") % {"error": exc}) from None
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise FileRejected(
            source, _("more than %(limit)s files in the archive") % {"limit": f"{MAX_ARCHIVE_MEMBERS:,}"}
        )
    _check_bomb(source, sum(m.file_size for m in members), sum(m.compress_size for m in members))
    for info in members:
        if info.is_dir():
            continue
        name = f"{source}/{safe_name(info.filename)}"
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            yield Problem(name, None, _("link: not opened"))
            continue
        # Many tools leave the file type out (0): that is a regular file.
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG):
            yield Problem(name, None, _("special file: not opened"))
            continue
        problem = _member_problem(source, info.filename)
        if problem:
            yield Problem(name, None, problem)
            continue
        try:
            with archive.open(info) as member:
                reader, _counter = buffered(member)
                yield from _member_documents(reader, name, info.filename, options)
        except (zipfile.BadZipFile, RuntimeError, NotImplementedError) as exc:
            # Encrypted or corrupt members, unsupported compression.
            yield Problem(name, None, _("unreadable member (%(error)s)") % {"error": exc})


def _read_tar(stream, source: str, options: FormatOptions, size: int | None) -> Iterator[RawDoc | Problem]:
    count, declared = 0, 0
    try:
        archive = tarfile.open(fileobj=stream, mode="r|gz")
        for member in archive:
            count += 1
            if count > MAX_ARCHIVE_MEMBERS:
                raise FileRejected(
                    source, _("more than %(limit)s files in the archive") % {"limit": f"{MAX_ARCHIVE_MEMBERS:,}"}
                )
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
                    problem = _("refused (%(reason)s): not opened") % {"reason": type(exc).__name__}
            if problem is None and (member.issym() or member.islnk()):
                problem = _("link: not opened")
            elif problem is None and not member.isreg():
                problem = _("special file: not opened")
            if problem:
                yield Problem(name, None, problem)
                continue
            declared += member.size
            # Against the whole archive's size: what was read so far says
            # nothing of the members still to come.
            _check_bomb(source, declared, size if size else declared)
            extracted = archive.extractfile(member)
            if extracted is None:
                continue
            reader, _counter = buffered(extracted)
            if format_of(member.name) == "parquet":
                # Parquet needs to seek; members of a streamed tar cannot.
                yield Problem(
                    name, None, _("Parquet inside a tar.gz cannot be read: put it in a ZIP or upload it alone")
                )
                continue
            yield from _member_documents(reader, name, member.name, options)
    except (tarfile.ReadError, EOFError, OSError) as exc:
        raise FileRejected(source, _("not a valid tar.gz archive (%(error)s)") % {"error": exc}) from None


def _member_documents(reader, name: str, filename: str, options: FormatOptions) -> Iterator[RawDoc | Problem]:
    try:
        yield from read_documents(reader, name=name, fmt=format_of(filename), options=options)
    except FileRejected as exc:
        # One bad member does not sink the archive.
        yield exc.problem
