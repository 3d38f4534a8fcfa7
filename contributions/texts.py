"""Messages kept as a code and its parameters, put into words when read.

What the workers find (a record skipped, why an analysis failed) is written
long before anyone reads it, by a process that has no reader, and is read
in either language: it is kept as ``{"code": ..., "params": {...}}`` and
rendered in the reader's language where it is shown (``message_render``).
Report JSON holds a message as it is; text fields (a corpus's reason, a
job's error) hold it as JSON (``message_dump``), so the schema is the same.
Sentences stored before, or by code that still writes plain text, render
as they are.

Parameters are data: file names, numbers (shown with the reader's digit
grouping), other messages (rendered in turn). What a library said in its
own words (English, for a programmer) goes only in the ``detail``
parameter, shown to maintainers (``technical=True``), never in a sentence.
"""

from __future__ import annotations

import json
from typing import Any, TypedDict

from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext_lazy

# The parameter that holds a library's own words, for maintainers.
DETAIL = "detail"
# A text parameter longer than this is cut: a reason must fit its field
# (5,000 characters) whole, JSON included.
MAX_PARAM_CHARS = 1000
# Messages inside messages: deeper than this is not rendered.
MAX_DEPTH = 4
_PREFIX = '{"code":'
# A person's words that begin as a stored message does, kept as words.
WORDS = "words"


class Message(TypedDict):
    code: str
    params: dict[str, Any]


MESSAGES: dict[str, Promise] = {
    # Where a problem is.
    "problem": gettext_lazy("%(source)s: %(message)s"),
    "problem.line": gettext_lazy("%(source)s, line %(line)s: %(message)s"),
    # What a file's first bytes say it is.
    "format.empty": gettext_lazy("the file is empty"),
    "format.not_parquet": gettext_lazy("the content is not a Parquet file"),
    "format.not_zip": gettext_lazy("the content is not a ZIP archive"),
    "format.not_tar_gz": gettext_lazy("the content is not a gzip-compressed tar archive"),
    "format.not_text": gettext_lazy("the content is not text: it looks like %(what)s"),
    "format.html": gettext_lazy("the content is HTML, not plain text: extract the text first"),
    "format.binary": gettext_lazy("the content is binary data, not text"),
    "format.unreadable": gettext_lazy("unreadable file: it is damaged, or not in the format its name says"),
    "kind.png": gettext_lazy("a PNG image"),
    "kind.jpeg": gettext_lazy("a JPEG image"),
    "kind.gif": gettext_lazy("a GIF image"),
    "kind.pdf": gettext_lazy("a PDF document"),
    "kind.windows": gettext_lazy("a Windows executable"),
    "kind.elf": gettext_lazy("an executable (ELF)"),
    "kind.macho": gettext_lazy("an executable (Mach-O or Java class)"),
    "kind.zip": gettext_lazy("a ZIP archive"),
    "kind.gzip": gettext_lazy("a gzip-compressed file"),
    "kind.bzip2": gettext_lazy("a bzip2-compressed file"),
    "kind.xz": gettext_lazy("an xz-compressed file"),
    "kind.7z": gettext_lazy("a 7z archive"),
    "kind.rar": gettext_lazy("a RAR archive"),
    "kind.parquet": gettext_lazy("a Parquet file"),
    "kind.media": gettext_lazy("an audio or video file"),
    "kind.audio": gettext_lazy("an audio file"),
    "kind.mp3": gettext_lazy("an MP3 file"),
    "kind.video": gettext_lazy("a video file"),
    "kind.sqlite": gettext_lazy("a SQLite database"),
    "kind.office": gettext_lazy("an Office document"),
    # Bombs.
    "bomb.archive": gettext_lazy("decompression bomb: the archive expands far beyond its size"),
    "bomb.declared": gettext_lazy("decompression bomb: %(compressed)s bytes claim to expand to %(declared)s bytes"),
    "bomb.text": gettext_lazy("decompression bomb: %(size)s bytes give more than %(limit)s characters of text"),
    "bomb.rows": gettext_lazy("decompression bomb: %(rows)s rows in %(size)s bytes"),
    # Records.
    "document.too_long": ngettext_lazy(
        "document longer than %(limit)s character: skipped", "document longer than %(limit)s characters: skipped",
        "limit",
    ),
    "document.empty": gettext_lazy("empty document: skipped"),
    # JSON Lines.
    "json.invalid": gettext_lazy("invalid JSON at column %(column)s: %(reason)s"),
    "json.invalid_at": gettext_lazy("invalid JSON at column %(column)s"),
    "json.end_of_data": gettext_lazy("unexpected end of data"),
    "json.unterminated_string": gettext_lazy("a string is not closed"),
    "json.empty": gettext_lazy("no content"),
    "json.expected_value": gettext_lazy("a value is expected"),
    "json.expected_key": gettext_lazy("a key in double quotes is expected"),
    "json.expected_colon": gettext_lazy("a colon (:) is expected after the key"),
    "json.expected_comma": gettext_lazy("a comma (,) or the end of the object or list is expected"),
    "json.extra_data": gettext_lazy("more content after the end of the object"),
    "json.control_character": gettext_lazy("a control character inside a string"),
    "json.trailing_comma": gettext_lazy("a comma before the end of an object or list"),
    "json.invalid_escape": gettext_lazy("an invalid escape sequence in a string"),
    "json.invalid_literal": gettext_lazy("an invalid word: only true, false and null are allowed"),
    "json.number_too_large": gettext_lazy("a number too large"),
    "json.unexpected_character": gettext_lazy("an unexpected character"),
    "json.not_object": gettext_lazy("a JSON object is expected on each line"),
    "json.no_text": gettext_lazy('no "text" field with a string'),
    "json.too_deep": ngettext_lazy(
        "record nested more than %(limit)s level deep: skipped",
        "record nested more than %(limit)s levels deep: skipped",
        "limit",
    ),
    # CSV and TSV.
    "csv.header_too_long": ngettext_lazy(
        "header line longer than %(limit)s character", "header line longer than %(limit)s characters", "limit"
    ),
    "csv.header_unreadable": gettext_lazy("unreadable header: %(reason)s"),
    "csv.row_unreadable": gettext_lazy("unreadable row: %(reason)s"),
    "csv.nul": gettext_lazy("it holds a NUL character (byte 0)"),
    "csv.field_too_long": ngettext_lazy(
        "a field is longer than %(limit)s character", "a field is longer than %(limit)s characters", "limit"
    ),
    "csv.newline": gettext_lazy("a line break inside a field without quotes"),
    "csv.malformed": gettext_lazy("its quotes or separators are misplaced"),
    "csv.no_column": gettext_lazy('no column "%(column)s" (columns: %(columns)s)'),
    "csv.row_too_long": ngettext_lazy(
        "row longer than %(limit)s character: skipped", "row longer than %(limit)s characters: skipped", "limit"
    ),
    "csv.too_many_errors": gettext_lazy("too many unreadable rows in a row"),
    "csv.columns": ngettext_lazy(
        "%(found)s column where the header has %(expected)s: skipped",
        "%(found)s columns where the header has %(expected)s: skipped",
        "found",
    ),
    # Parquet.
    "parquet.unreadable": gettext_lazy("unreadable Parquet file"),
    "parquet.footer_past_file": gettext_lazy(
        "unreadable Parquet file: its metadata claim more bytes than the file has"
    ),
    "parquet.footer_too_large": gettext_lazy("Parquet metadata of %(size)s bytes (at most %(limit)s)"),
    "parquet.too_many_entries": ngettext_lazy(
        "Parquet metadata with more than %(limit)s entry: write it with fewer, larger row groups",
        "Parquet metadata with more than %(limit)s entries: write it with fewer, larger row groups",
        "limit",
    ),
    "parquet.same_name": ngettext_lazy(
        '%(count)s column is named "%(column)s": keep one', '%(count)s columns are named "%(column)s": keep one',
        "count",
    ),
    "parquet.not_text": gettext_lazy('column "%(column)s" is not text'),
    "parquet.empty_text": gettext_lazy("empty text"),
    "parquet.data_unreadable": gettext_lazy("unreadable Parquet data"),
    "parquet.in_tar": gettext_lazy("Parquet inside a tar.gz cannot be read: put it in a ZIP or upload it alone"),
    # Archives.
    "member.absolute": gettext_lazy("absolute path: not opened"),
    "member.outside": gettext_lazy("path goes outside the archive (..): not opened"),
    "member.nested": gettext_lazy("nested archive: not opened"),
    "member.unsupported": gettext_lazy("unsupported file type: skipped"),
    "member.link": gettext_lazy("link: not opened"),
    "member.special": gettext_lazy("special file: not opened"),
    "member.refused": gettext_lazy("refused by the checks of a safe extraction: not opened"),
    "member.encrypted": gettext_lazy("encrypted file: not opened"),
    "member.damaged": gettext_lazy("damaged file: its checksum does not match"),
    "member.unreadable": gettext_lazy("unreadable file of the archive"),
    "archive.too_many_members": ngettext_lazy(
        "more than %(limit)s file in the archive", "more than %(limit)s files in the archive", "limit"
    ),
    "zip.directory_too_large": gettext_lazy("the archive's table of contents is %(size)s bytes (at most %(limit)s)"),
    "zip.invalid": gettext_lazy("not a valid ZIP archive"),
    "zip.compression": gettext_lazy("compression method %(method)s is not supported: use the usual one (Deflate)"),
    "tar.extended_too_large": gettext_lazy("extended header of %(size)s bytes (at most %(limit)s): not read"),
    "tar.header_chain": ngettext_lazy(
        "more than %(limit)s extended header in a row", "more than %(limit)s extended headers in a row", "limit"
    ),
    "tar.sparse_map": gettext_lazy("invalid sparse map"),
    "tar.invalid": gettext_lazy("not a valid tar.gz archive"),
    # The analysis as a whole.
    "analysis.no_file": gettext_lazy("no file to analyse"),
    "analysis.nothing_usable": gettext_lazy("no usable document in the files"),
    "analysis.part_failed": gettext_lazy("a part of the analysis failed"),
    "analysis.too_slow": gettext_lazy(
        "%(name)s: reading took longer than %(seconds)s s; the file is malformed or far larger than it looks"
    ),
    "analysis.near_too_slow": gettext_lazy("finding near-duplicates took too long"),
    "analysis.run_ended": gettext_lazy("the analysis this part belongs to has ended"),
    "analysis.part_file_removed": gettext_lazy("the file of this part was removed"),
    "analysis.merge_too_slow": gettext_lazy("merging the parts of the analysis took too long"),
    "analysis.merge_failed": gettext_lazy("the parts of the analysis could not be merged"),
    "analysis.corpus_changed": gettext_lazy("the corpus changed"),
    # Any job.
    "job.stopped": ngettext_lazy(
        "stopped %(count)s time without finishing (the worker died or was stopped)",
        "stopped %(count)s times without finishing (the worker died or was stopped each time)",
        "count",
    ),
    "job.internal_error": gettext_lazy("internal error; the maintainers have the details"),
    "job.cancelled": gettext_lazy("cancelled"),
    "job.cancelled_by_maintainer": gettext_lazy("cancelled by a maintainer"),
    # Why a corpus moved, in its history.
    "corpus.files_changed": gettext_lazy("Files changed."),
    "corpus.unpublished": gettext_lazy("Unpublished by a maintainer after a report."),
    "corpus.unpublished_after_report": gettext_lazy("Unpublished after a report (%(reason)s). %(comment)s"),
    "abuse.copyright": gettext_lazy("Copyright"),
    "abuse.personal_data": gettext_lazy("Personal data"),
    "abuse.offensive": gettext_lazy("Offensive content"),
    "release.empty": gettext_lazy(
        "no document left to release: its corpora were unpublished, or the filters left nothing"
    ),
}


def message(code: str, **params: Any) -> Message:
    """A message to store. Text parameters are cut to a bounded length."""
    return {"code": code, "params": {name: _bounded(value) for name, value in params.items()}}


def _bounded(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_PARAM_CHARS:
        return value[: MAX_PARAM_CHARS - 1] + "…"
    return value


def message_dump(value: Message | str) -> str:
    """A message as a text field holds it (a plain string stays as it is)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def words_dump(value: Message | str) -> str:
    """A message, or a person's words, as a text field holds it. Words stay
    as they are, unless they would be read back as a message: a reviewer's
    comment must never show as the site's own sentence."""
    if isinstance(value, str) and value.startswith(_PREFIX):
        value = {"code": WORDS, "params": {"text": value}}
    return message_dump(value)


def message_load(value: Any) -> Message | str:
    """A stored value as a message, or as the plain text it is."""
    if isinstance(value, str) and value.startswith(_PREFIX):
        try:
            loaded = json.loads(value)
        except (ValueError, RecursionError):  # nesting deep enough to exhaust the parser: text, not a message
            return value
        return loaded if _is_message(loaded) else value
    if _is_message(value):
        return value
    if isinstance(value, str):
        return value
    return "" if value is None else str(value)


def message_code(value: Any) -> str | None:
    """The code of a stored message; None for plain text."""
    loaded = message_load(value)
    return None if isinstance(loaded, str) else loaded["code"]


def _is_message(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("code"), str) and isinstance(value.get("params", {}), dict)


def message_render(value: Any, *, technical: bool = False) -> str:
    """A stored message in the active language: a message, its JSON, or the
    plain text written before messages had codes. ``technical`` adds what a
    library said, for maintainers. Never raises on what is stored."""
    loaded = message_load(value)
    if isinstance(loaded, str):
        return loaded
    return _render(loaded, technical, 0)


class GroupedNumber(int):
    """An integer that prints with the reader's digit grouping, and still
    chooses the plural form as a number. Templates print it through
    ``str()`` only because USE_THOUSAND_SEPARATOR is off (Django's default):
    on, Django would group the grouped text again."""

    def __str__(self) -> str:
        return number_format(int(self), force_grouping=True)


def _shown(value: Any, technical: bool, depth: int) -> Any:
    if _is_message(value):
        return _render(value, technical, depth + 1)
    if isinstance(value, int) and not isinstance(value, bool):
        return GroupedNumber(value)
    return value


def _render(stored: Message, technical: bool, depth: int) -> str:
    code, raw = stored["code"], stored.get("params") or {}
    if code == WORDS:
        return str(raw.get("text", ""))
    if depth > MAX_DEPTH:
        return code
    params = {name: _shown(value, technical, depth) for name, value in raw.items() if name != DETAIL}
    template = MESSAGES.get(code)
    text = None
    if template is not None:
        try:
            text = str(template % params)
        except (KeyError, ValueError, TypeError):
            text = None  # stored by another version of the code: said plainly below
    if text is None:
        # A code this version does not know: its name and parameters, for
        # whoever reads it to report.
        shown = ", ".join(f"{name}: {value}" for name, value in params.items())
        text = f"{code} ({shown})" if shown else code
    detail = raw.get(DETAIL)
    if technical and detail:
        text = _("%(message)s (technical detail: %(detail)s)") % {"message": text, "detail": detail}
    return text
