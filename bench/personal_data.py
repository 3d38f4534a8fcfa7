"""Precision and recall of the personal data detectors on a labelled set:
real French text (Debian's French manual pages, rendered as
bench/manpages.py does) into which known items are planted, each labelled:
personal data of each kind, and look-alikes that are not personal data
(netmasks, private and documentation addresses, networks, versions, section
numbers, dates, amounts, numbers with wrong check digits).

    .venv/bin/python bench/personal_data.py                  # 400 pages, 3 items each
    .venv/bin/python bench/personal_data.py --show-errors
    .venv/bin/python bench/personal_data.py --tiny

A planted item is found when a finding of its kind covers exactly its
characters (the placeholder will replace exactly it); a finding on a
look-alike, of another kind, or cutting an item is a false positive. What
the detectors find in the pages themselves (translators' addresses, the
pages' own examples) is not labelled: it is counted apart, per kind.
Prints one JSON line; without man pages (a fresh machine), the carrier is a
few French paragraphs written here.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import emit, leave, peak_rss_mb  # noqa: E402

FIGURES = ("documents", "planted")
CARRIER_FALLBACK = [
    "Le conseil municipal s'est réuni mardi soir pour examiner le budget de la commune.\n\n"
    "La bibliothèque propose désormais des ateliers de lecture pour les enfants le mercredi.\n\n"
    "Les travaux de la place du marché commenceront au printemps et dureront six mois.",
] * 20
FIRST = ["jeanne", "paul", "marie", "luc", "amina", "yann", "chloe", "karim", "lea", "hugo"]
LAST = ["martin", "bernard", "dubois", "thomas", "robert", "richard", "petit", "durand", "leroy", "moreau"]
DOMAINS = [("exemple", "fr"), ("univ-lyon", "fr"), ("ens-paris", "eu"), ("courriel", "org"), ("mairie-ville", "fr")]


def _octets(rng: random.Random, count: int) -> str:
    return ".".join(str(rng.randrange(1, 255)) for _ in range(count))


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _grouped(value: str, size: int = 4) -> str:
    return " ".join(value[i : i + size] for i in range(0, len(value), size))


def personal(rng: random.Random, kind: str) -> str:
    """A piece of personal data of ``kind``, valid (check digits right)."""
    from stdnum import iban, luhn
    from stdnum.fr import nir

    if kind == "email":
        domain, top = rng.choice(DOMAINS)
        address = f"{rng.choice(FIRST)}.{rng.choice(LAST)}@{domain}.{top}"
        if "-" in domain and rng.random() < 0.5:
            # Broken at its hyphen, as man pages and PDFs print it.
            address = address.replace("-", "-\n" + " " * rng.choice([0, 7]), 1)
        return address
    if kind == "phone":
        number = rng.choice("1234567") + _digits(rng, 8)
        style = rng.randrange(3)
        if style == 0:
            return "0" + number[0] + " " + " ".join(number[i : i + 2] for i in range(1, 9, 2))
        if style == 1:
            return "+33 " + number[0] + " " + " ".join(number[i : i + 2] for i in range(1, 9, 2))
        return "0" + number[0] + "." + ".".join(number[i : i + 2] for i in range(1, 9, 2))
    if kind == "iban":
        bank, branch, account = _digits(rng, 5), _digits(rng, 5), _digits(rng, 11)
        key = 97 - (89 * int(bank) + 15 * int(branch) + 3 * int(account)) % 97
        bban = f"{bank}{branch}{account}{key:02d}"
        return _grouped(f"FR{iban.calc_check_digits('FR00' + bban)}{bban}")
    if kind == "nir":
        body = (rng.choice("12") + f"{rng.randrange(100):02d}" + f"{rng.randrange(1, 13):02d}"
                + f"{rng.randrange(1, 96):02d}" + _digits(rng, 6))
        value = body + nir.calc_check_digits(body)
        return " ".join([value[0], value[1:3], value[3:5], value[5:7], value[7:10], value[10:13], value[13:]])
    if kind == "card":
        body = rng.choice("45") + _digits(rng, 14)
        return _grouped(body + luhn.calc_check_digit(body))
    if kind == "ip":
        if rng.random() < 0.2:
            groups = [rng.randrange(0x100, 0xffff), rng.randrange(0x10, 0xffff), rng.randrange(2, 0xffff)]
            return "2a01:{:x}:{:x}::{:x}".format(*groups)
        first = rng.choice([x for x in range(11, 224) if x not in (100, 127, 169, 172, 192, 198, 203)])
        return f"{first}.{rng.randrange(10, 256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    raise ValueError(kind)


def look_alike(rng: random.Random) -> tuple[str, str]:
    """(what it is, text) of something a detector could take for personal data."""
    choices = [
        ("netmask", lambda: rng.choice(["255.255.255.0", "255.255.0.0", "255.0.0.0", "255.255.255.252"])),
        ("private address", lambda: rng.choice(["192.168.", "10.1."]) + _octets(rng, 2)),
        ("documentation address", lambda: rng.choice(["192.0.2.", "198.51.100.", "203.0.113."]) + _octets(rng, 1)),
        ("documentation IPv6", lambda: f"2001:db8::{rng.randrange(1, 0xffff):x}"),
        ("network", lambda: f"{rng.choice(['10.0.0.0/8', '172.16.0.0/12', '62.210.0.0/16', '2002::/16'])}"),
        ("section", lambda: f"section {rng.randrange(1, 20)}.{rng.randrange(1, 9)}.{rng.randrange(1, 9)}.1"),
        ("version", lambda: f"version {rng.randrange(1, 6)}.{rng.randrange(10, 30)}.{rng.randrange(10, 300)}.1"),
        ("program version", lambda: f"dpkg\u00a01.{rng.randrange(10, 22)}.{rng.randrange(0, 9)}.{rng.randrange(1, 9)}"),
        ("date", lambda: f"{rng.randrange(1, 29):02d}/{rng.randrange(1, 13):02d}/{rng.randrange(1990, 2030)}"),
        ("amount", lambda: f"{rng.randrange(1, 999)} {rng.randrange(100, 999)} {rng.randrange(100, 999)} euros"),
        ("wrong IBAN", lambda: _wrong_iban(rng)),
        ("wrong card", lambda: _wrong_luhn(rng)),
        ("wrong NIR", lambda: "1 84 12 76 451 089 " + f"{(int('1841276451089') % 97 + 3) % 97:02d}"),
        ("digits", lambda: "[0123456789]"),
    ]
    what, make = rng.choice(choices)
    return what, make()


def _wrong_iban(rng: random.Random) -> str:
    from stdnum import iban

    bban = _digits(rng, 23)
    good = int(iban.calc_check_digits("FR00" + bban))
    return _grouped(f"FR{(good + rng.randrange(1, 90)) % 97 + 2:02d}{bban}")


def _wrong_luhn(rng: random.Random) -> str:
    from stdnum import luhn

    body = "4" + _digits(rng, 14)
    good = int(luhn.calc_check_digit(body))
    return _grouped(body + str((good + 1) % 10))


SENTENCES = [
    "Pour toute question, voir {} dans la documentation.",
    "La valeur {} figure dans le fichier de configuration.",
    "Le formulaire reçu indique {} comme référence.",
    "Selon le relevé, {} apparaît deux fois.",
]


def carriers(count: int) -> list[str]:
    from bench.manpages import ROOT as MAN_FR
    from bench.manpages import pages, render, renderer

    if not MAN_FR.is_dir():
        return CARRIER_FALLBACK[:count]
    every = list(pages(MAN_FR))
    chosen = [every[i * len(every) // count] for i in range(min(count, len(every)))]
    command = renderer()
    return [text for text in (render(command, path) for path in chosen) if text] or CARRIER_FALLBACK[:count]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=400)
    parser.add_argument("--items", type=int, default=3, help="planted in each page")
    parser.add_argument("--show-errors", action="store_true")
    parser.add_argument("--tiny", action="store_true")
    args = parser.parse_args()
    if args.tiny:
        args.pages = 4

    from contributions.analysis.text import PII_KINDS, find_personal_data

    rng = random.Random(2026)
    texts = carriers(args.pages)
    planted = Counter()
    found = Counter()
    false_positives = Counter()
    carrier_findings = Counter()
    errors: list[str] = []
    size = 0
    began = time.perf_counter()
    for carrier in texts:
        paragraphs = carrier.split("\n\n")
        labels: list[tuple[int, int, str | None, str]] = []
        for _ in range(args.items):
            if rng.random() < 0.6:
                kind: str | None = rng.choice(PII_KINDS)
                value, what = personal(rng, kind), kind
            else:
                kind = None
                what, value = look_alike(rng)
            where = rng.randrange(len(paragraphs) + 1)
            paragraphs.insert(where, rng.choice(SENTENCES).format(value))
            labels.append((where, 0, kind, value))
        text = "\n\n".join(paragraphs)
        size += len(text.encode())
        # Where each planted value ended up.
        spans: list[tuple[int, int, str | None, str]] = []
        cursor = 0
        for paragraph in paragraphs:
            for _where, _zero, kind, value in labels:
                at = paragraph.find(value)
                if at != -1 and any(paragraph == s.format(value) for s in SENTENCES):
                    spans.append((cursor + at, cursor + at + len(value), kind, value))
            cursor += len(paragraph) + 2
        findings = find_personal_data(text)
        exact = {(item.kind, item.start, item.end) for item in findings}
        for start, end, kind, value in spans:
            if kind:
                planted[kind] += 1
                if (kind, start, end) in exact:
                    found[kind] += 1
                else:
                    errors.append(f"{kind} missed: {value!r}")
        for item in findings:
            overlapping = [span for span in spans if span[0] < item.end and item.start < span[1]]
            if not overlapping:
                carrier_findings[item.kind] += 1
            elif not any(kind == item.kind and (start, end) == (item.start, item.end)
                         for start, end, kind, _value in overlapping):
                false_positives[item.kind] += 1
                value, kind = overlapping[0][3], overlapping[0][2]
                errors.append(f"{item.kind} found in {value!r} ({kind or 'not personal data'}): {item.value!r}")
    seconds = time.perf_counter() - began
    missed = {kind: planted[kind] - found[kind] for kind in PII_KINDS}
    if args.show_errors:
        for line in errors:
            sys.stderr.write(line + "\n")

    def ratio(a: int, b: int) -> float | None:
        return round(a / b, 4) if b else None

    emit({
        "documents": len(texts),
        "planted": sum(planted.values()),
        "per_kind": {
            kind: {
                "planted": planted[kind], "found": found[kind], "missed": missed[kind],
                "false_positives": false_positives[kind],
                "precision": ratio(found[kind], found[kind] + false_positives[kind]),
                "recall": ratio(found[kind], planted[kind]),
            }
            for kind in PII_KINDS
        },
        "found_in_the_pages_unlabelled": dict(carrier_findings),
        "seconds": round(seconds, 3),
        "mb_per_s": round(size / 1e6 / seconds, 3) if seconds else 0.0,
        "peak_rss_mb": peak_rss_mb(),
    })
    leave()


if __name__ == "__main__":
    main()
