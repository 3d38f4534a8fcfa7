"""What the client shows: progress bars on stderr, and the API's answers
(corpora, analysis reports, releases) put into words."""

from __future__ import annotations

import json
import re
import shutil
import sys
import time
from typing import Any, TextIO

from . import i18n
from .i18n import _, ngettext

# What a terminal acts on rather than shows: C0 controls (ESC begins the
# sequences that clear the screen, move the cursor or set the window's
# title; CR rewrites the line), DEL, C1 controls (U+009B is a CSI of its
# own) and the bidirectional overrides and isolates, which reorder what
# follows them. Newline and tab are kept where text may span lines.
_BIDI = "\u202a-\u202e\u2066-\u2069"
_UNSAFE_IN_TEXT = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_IN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
# json.dumps escapes C0 controls itself, not these.
_UNSAFE_IN_JSON = re.compile(f"[\x7f-\x9f{_BIDI}]")


def _shown(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: object, *, multiline: bool = True) -> str:
    """``text`` as it may be written to a terminal: each control or
    bidirectional character written as its escape (``\\x1b``, ``\\u202e``).
    Everything printed goes through it, since what the server sends (its
    messages, titles, paths) and files' names may hold any of them; with
    ``multiline`` false, newlines and tabs too (a table's cell, a line
    redrawn in place)."""
    return (_UNSAFE_IN_TEXT if multiline else _UNSAFE_IN_LINE).sub(_shown, str(text))


def json_text(data: Any) -> str:
    """``data`` as indented JSON, safe for a terminal and still the same
    JSON: the characters above written as ``\\uXXXX`` escapes."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _UNSAFE_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class Progress:
    """Bytes moved out of a total: a bar redrawn in place on a terminal,
    plain lines otherwise (each tenth of the way, or every ten seconds)."""

    def __init__(self, label: str, total: int, *, stream: TextIO | None = None, enabled: bool = True) -> None:
        self.label, self.total = terminal_safe(label, multiline=False), total
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and self.stream.isatty()
        self.start_offset = 0
        self.started = time.monotonic()
        self.last_draw = 0.0
        self.last_tenth = -1
        self.last_offset = -1
        self.offset = 0
        self.drawn = False

    def start(self, offset: int = 0) -> None:
        self.start_offset = self.offset = offset
        self.started = time.monotonic()
        self._draw(force=True)

    def update(self, offset: int) -> None:
        self.offset = offset
        self._draw()

    def finish(self) -> None:
        self._draw(force=True)
        if self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()

    def abandon(self) -> None:
        """Leave the bar where it stands (an error is printed after it)."""
        if self.tty and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False

    def _numbers(self) -> str:
        total = max(self.total, 1)
        done = min(self.offset, self.total)
        percent = i18n.percent(100 * done / total if self.total else 100)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        sent = self.offset - self.start_offset
        speed = sent / elapsed
        parts = [f"{i18n.size(done)} / {i18n.size(self.total)}", percent]
        if sent > 0 and elapsed > 0.2:
            parts.append(_("{speed}/s").format(speed=i18n.size(speed)))
            if done < self.total:
                parts.append(_("{time} left").format(time=i18n.duration((self.total - done) / speed)))
        return "  ".join(parts)

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if not force and now - self.last_draw < 0.1:
                return
            width = shutil.get_terminal_size((80, 20)).columns
            numbers = self._numbers()
            room = max(width - len(numbers) - len(self.label) - 6, 0)
            bar_width = min(30, room)
            line = f"{self.label}  "
            if bar_width >= 5:
                filled = int(bar_width * min(self.offset, self.total) / max(self.total, 1)) if self.total else bar_width
                line += "[" + "#" * filled + "." * (bar_width - filled) + "]  "
            line += numbers
            self.stream.write("\r" + line[: max(width - 1, 10)] + "\x1b[K")
            self.stream.flush()
            self.drawn = True
        else:
            tenth = 10 if not self.total else 10 * min(self.offset, self.total) // self.total
            due = force or tenth != self.last_tenth or now - self.last_draw >= 10
            if self.offset == self.last_offset or not due:
                return
            self.last_tenth, self.last_offset = tenth, self.offset
            self.stream.write(_("{name}: {progress}").format(name=self.label, progress=self._numbers()) + "\n")
            self.stream.flush()
        self.last_draw = now


# ------------------------------------------------------------ words

CORPUS_STATUS = {
    "draft": "Draft",
    "submitted": "Submitted",
    "processing": "Processing",
    "awaiting_review": "Awaiting review",
    "changes_requested": "Changes requested",
    "approved": "Approved",
    "queued_for_training": "Queued for training",
    "released": "Released",
    "rejected": "Rejected",
    "withdrawn": "Withdrawn",
    "failed": "Failed",
}

JOB_STATUS = {
    "queued": "Queued",
    "running": "Running",
    "done": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
}

PERSONAL_DATA = {
    "email": "email addresses",
    "phone": "phone numbers",
    "iban": "IBANs",
    "nir": "French social security numbers (NIR)",
    "card": "payment card numbers",
    "ip": "IP addresses",
}

QUALITY = {
    "too_short": "fewer than 50 words",
    "too_long": "more than 100,000 words",
    "symbol_ratio": "many symbols (# or ellipses) for its words",
    "ellipsis_lines": "many lines ending with an ellipsis",
    "bullet_lines": "almost only bullet lines",
    "non_alpha_words": "many words without letters",
    "word_length": "unusual mean word length",
    "repeated_lines": "many repeated lines",
    "repeated_ngrams": "one word pair repeated throughout",
    "no_stop_words": "hardly any common words of its language",
    "lorem_ipsum": "placeholder text (lorem ipsum)",
    "javascript": "mentions of JavaScript (web page residue)",
    "cookie_boilerplate": "cookie banner text",
    "curly_braces": "curly braces (code or templates)",
    "low_punctuation": "few lines ending with punctuation",
    "short_lines": "mostly very short lines",
    "mixed_language": "no language holds a clear majority of the text",
}


def status_label(value: object, labels: dict[str, str]) -> str:
    text = str(value)
    return _(labels[text]) if text in labels else text


def documents(n: int) -> str:
    return ngettext("{n} document", "{n} documents", n).format(n=i18n.integer(n))


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def report_lines(report: dict[str, Any]) -> list[str]:
    """An analysis report (contributions.payloads.AnalysisReport) in words."""
    lines: list[str] = []
    count = _int(report.get("documents"))
    lines.append(_("Documents: {n}").format(n=i18n.integer(count)))
    skipped = report.get("skipped")
    if not isinstance(skipped, dict):
        skipped = {}
    empty, bad = _int(skipped.get("empty")), _int(skipped.get("problems"))
    if empty or bad:
        lines.append("  " + _("skipped: {empty} empty, {bad} unreadable").format(
            empty=i18n.integer(empty), bad=i18n.integer(bad)))
    if "words" in report:
        lines.append(_("Words: {words}; characters: {chars}").format(
            words=i18n.integer(_int(report.get("words"))), chars=i18n.integer(_int(report.get("characters")))))
    languages = [share for share in report.get("languages") or [] if isinstance(share, dict)]
    if languages:
        shown = ", ".join(
            f"{share.get('language')} {i18n.rate(_float(share.get('rate')))}"
            f" ({i18n.integer(_int(share.get('documents')))})"
            for share in languages[:8]
        )
        if len(languages) > 8:
            shown += ", …"
        lines.append(_("Languages: {languages}").format(languages=shown))
    personal = report.get("personal_data")
    if isinstance(personal, dict):
        found = [(kind, counts) for kind, counts in personal.items()
                 if isinstance(counts, dict) and _int(counts.get("documents"))]
        if found:
            lines.append(_("Personal data found:"))
            for kind, counts in found:
                lines.append("  " + _("{kind}: {occurrences} in {documents}").format(
                    kind=status_label(kind, PERSONAL_DATA),
                    occurrences=i18n.integer(_int(counts.get("occurrences"))),
                    documents=documents(_int(counts.get("documents")))))
        else:
            lines.append(_("Personal data found: none"))
    duplicates = report.get("duplicates")
    if isinstance(duplicates, dict):
        lines.append(_("Duplicates: {within} exact within the corpus, {accepted} of accepted data, "
                       "{near} near-duplicates").format(
            within=i18n.integer(_int(duplicates.get("exact_within"))),
            accepted=i18n.integer(_int(duplicates.get("exact_accepted"))),
            near=i18n.integer(_int(duplicates.get("near_within")))))
    quality = report.get("quality")
    if isinstance(quality, dict):
        flagged = sorted(
            ((flag, counts) for flag, counts in quality.items()
             if isinstance(counts, dict) and _int(counts.get("documents"))),
            key=lambda item: -_int(item[1].get("documents")),
        )
        if flagged:
            lines.append(_("Quality flags:"))
            for flag, counts in flagged:
                lines.append("  " + _("{flag}: {documents} ({rate})").format(
                    flag=status_label(flag, QUALITY), documents=documents(_int(counts.get("documents"))),
                    rate=i18n.rate(_float(counts.get("rate")))))
        else:
            lines.append(_("Quality flags: none"))
    encoding = report.get("encoding")
    if isinstance(encoding, dict) and _int(encoding.get("mojibake_fixed")):
        lines.append(_("Encoding repaired in {documents}").format(
            documents=documents(_int(encoding.get("mojibake_fixed")))))
    total = _int(report.get("problems_total"))
    problems = [p for p in report.get("problems") or [] if isinstance(p, dict)]
    if total:
        lines.append(ngettext("{n} record skipped:", "{n} records skipped:", total).format(n=i18n.integer(total)))
        for problem in problems[:10]:
            where = str(problem.get("source") or "")
            if problem.get("line") is not None:
                where += ":" + str(problem.get("line"))
            lines.append(f"  {where}: {problem.get('message')}")
        if total > len(problems[:10]):
            lines.append("  …")
    return lines


def corpus_status_lines(status: dict[str, Any]) -> list[str]:
    """GET /corpora/<id>/status/ in words: the corpus, its analysis and, once
    done, the report."""
    lines = [_("Corpus {id}: {status} (version {version})").format(
        id=status.get("id"), status=status_label(status.get("status"), CORPUS_STATUS),
        version=status.get("version"))]
    analysis = status.get("analysis")
    if not isinstance(analysis, dict):
        lines.append(_("No analysis yet: submit the corpus (openllm submit)."))
        return lines
    state = str(analysis.get("status"))
    line = _("Analysis: {status}").format(status=status_label(state, JOB_STATUS))
    if state in ("queued", "running") and analysis.get("percent") is not None:
        line += f" ({i18n.percent(_float(analysis.get('percent')))})"
    lines.append(line)
    if state == "failed" and analysis.get("error"):
        lines.append(_("Reason: {error}").format(error=analysis.get("error")))
    report = analysis.get("report")
    if isinstance(report, dict):
        lines.extend(report_lines(report))
    return lines


def table(rows: list[list[str]], headers: list[str]) -> list[str]:
    rows = [[terminal_safe(cell, multiline=False) for cell in row] for row in rows]
    headers = [terminal_safe(cell, multiline=False) for cell in headers]
    widths = [max(len(str(row[i])) for row in [headers, *rows]) for i in range(len(headers))]
    out = []
    for row in [headers, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        out.append("  ".join(cells).rstrip())
    return out
