"""How often the analysis gives a document the right language, on real text:
Debian's manual pages in several languages (manpages-fr, manpages-de,
manpages-es, manpages-it) and their English originals (manpages and the
packages installed), each page labelled by the language of its folder.

    .venv/bin/python bench/languages.py                     # 150 pages a language
    .venv/bin/python bench/languages.py --per-language 40
    .venv/bin/python bench/languages.py --tiny              # seconds: does it still run?

Each page is rendered as bench/manpages.py does, one document a page, and
identified three ways: by its opening alone (the first 600 characters, as
the analysis did before), by samples over the whole document (as it does
now, ``detect_language``), and the same with the language its corpus
declares (a corpus of French pages declares French). Prints one JSON line:
accuracy overall and per language for each way, and the error rate on the
French pages that open in English (whose first 600 characters read as
English). Left out: pages the renderer leaves empty, and translations that
left more than a fifth of their lines of prose in English (found word for
word in the English original), whose folder would give a wrong label. Without man pages (a fresh
machine), ``--tiny`` falls back to a few texts written here.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import emit, leave, peak_rss_mb  # noqa: E402

FIGURES = ("accuracy", "documents")
MAN = Path("/usr/share/man")
TRANSLATED = ("fr", "de", "es", "it")
OPENING_CHARS = 600

# The fallback of --tiny: a French page that opens with its English synopsis,
# and one plain page of each language.
FALLBACK = [
    ("fr", "NAME\n  tree - list contents of directories in a tree-like format\nSYNOPSIS\n  tree [-acdfghilnpqrstuvx] "
     "[-L level [-R]] [-H baseHREF] [-T title] [-o filename]\n" + "Tree est un programme d'affichage récursif "
     "du contenu des répertoires qui produit une liste indentée des fichiers, colorée si la variable "
     "d'environnement LS_COLORS est définie et que la sortie est un terminal. " * 6),
    ("en", "Tree is a recursive directory listing program that produces a depth indented listing of files, which "
     "is colorized if the LS_COLORS environment variable is set and output is to a terminal. " * 4),
    ("de", "Tree ist ein rekursives Programm zum Auflisten von Verzeichnissen, das eine eingerückte Liste der "
     "Dateien erzeugt, die farbig ist, wenn die Umgebungsvariable gesetzt ist. " * 4),
    ("es", "Tree es un programa recursivo de listado de directorios que produce una lista sangrada de los "
     "archivos, coloreada si la variable de entorno está definida y la salida es una terminal. " * 4),
    ("it", "Tree è un programma ricorsivo di elencazione delle directory che produce un elenco rientrato dei "
     "file, colorato se la variabile d'ambiente è impostata e l'uscita è un terminale. " * 4),
]


def pick(root: Path, count: int) -> list[Path]:
    """``count`` pages spread over the whole folder (every k-th page)."""
    from bench.manpages import pages

    every = list(pages(root)) if root.is_dir() else []
    if len(every) <= count:
        return every
    return [every[i * len(every) // count] for i in range(count)]


def english_original(path: Path, language: str) -> Path | None:
    """The English page a translated page was made from, where installed."""
    relative = path.relative_to(MAN / language)
    for candidate in (MAN / relative, *sorted((MAN / relative.parent).glob(relative.name.split(".")[0] + ".*"))):
        if candidate.is_file():
            return candidate
    return None


def untranslated_share(text: str, original: str) -> float:
    """The share of a translation's lines of prose left in English: lines
    found word for word in the English original."""
    english = {line.strip() for line in original.splitlines()}
    lines = [line.strip() for line in text.splitlines() if len(line.strip()) >= 40]
    return sum(line in english for line in lines) / len(lines) if lines else 0.0


def labelled_pages(per_language: int) -> tuple[list[tuple[str, str, str]], Counter[str]]:
    """(language, name, text) of every page, rendered, and per language the
    number of pages left out because they are partly untranslated."""
    from bench.manpages import render, renderer

    todo: list[tuple[str, Path, Path | None]] = []
    for language in TRANSLATED:
        todo += [(language, path, english_original(path, language)) for path in pick(MAN / language, per_language)]
    originals = [original for language, _, original in todo if language == "fr" and original]
    todo += [("en", original, None) for original in originals[:per_language]]
    if not todo:
        return [], Counter()
    command = renderer()

    def rendered(item: tuple[str, Path, Path | None]) -> tuple[str, str]:
        _language, path, original = item
        return render(command, path), render(command, original) if original else ""

    with ThreadPoolExecutor(max_workers=4) as pool:
        texts = list(pool.map(rendered, todo))
    pages, partial = [], Counter()
    for (language, path, _original), (text, original_text) in zip(todo, texts):
        if not text:
            continue
        # A translation that left a fifth of its prose in English is not a
        # page of its language: its label would be wrong, not the analysis.
        if original_text and untranslated_share(text, original_text) > 0.2:
            partial[language] += 1
            continue
        pages.append((language, str(path.relative_to(MAN)), text))
    return pages, partial


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-language", type=int, default=150, help="pages of each language")
    parser.add_argument("--tiny", action="store_true", help="a few pages a language, or the texts written here")
    parser.add_argument("--errors", action="store_true", help="list the pages the whole-document way gets wrong")
    args = parser.parse_args()
    if args.tiny:
        args.per_language = 3

    from contributions.analysis.text import MIXED_LANGUAGE_SHARE, _language_model, detect_language

    began = time.perf_counter()
    documents, partial = labelled_pages(args.per_language) if MAN.is_dir() else ([], Counter())
    if not documents and args.tiny:
        documents = [(language, f"fallback-{i}", text) for i, (language, text) in enumerate(FALLBACK)]
    if not documents:
        raise SystemExit("no manual page found: apt-get install man-db manpages manpages-fr manpages-de ...")
    rendered = time.perf_counter() - began

    model = _language_model()

    def opening(text: str) -> str:
        sample = text[:OPENING_CHARS].replace("\n", " ")
        if sample.isupper():
            sample = sample.lower()
        return model.f.predict(sample + "\n", 1, 0.0, "strict")[0][1].removeprefix("__label__")

    totals: dict[str, Counter[str]] = {}
    french_opening_english: Counter[str] = Counter()
    wrong = []
    began = time.perf_counter()
    size = 0
    for language, name, text in documents:
        size += len(text.encode())
        whole = detect_language(text)
        declared = detect_language(text, [language])
        first = opening(text)
        counts = totals.setdefault(language, Counter())
        counts["documents"] += 1
        counts["opening"] += first == language
        counts["whole"] += whole.code == language
        counts["declared"] += declared.code == language
        counts["mixed"] += whole.share < MIXED_LANGUAGE_SHARE
        if language == "fr" and first == "en":
            french_opening_english["documents"] += 1
            french_opening_english["whole_errors"] += whole.code != "fr"
            french_opening_english["declared_errors"] += declared.code != "fr"
        if whole.code != language:
            wrong.append((name, language, whole.code, whole.share, declared.code))
    seconds = time.perf_counter() - began

    def rate(count: int, total: int) -> float:
        return round(count / total, 4) if total else 0.0

    every = sum((counts for counts in totals.values()), Counter())
    if args.errors:
        for name, language, code, share, declared_code in wrong:
            sys.stderr.write(f"{name}: {language} read as {code} (share {share}), declared: {declared_code}\n")
    emit({
        "documents": every["documents"],
        "accuracy": rate(every["whole"], every["documents"]),
        "accuracy_declared": rate(every["declared"], every["documents"]),
        "accuracy_opening_only": rate(every["opening"], every["documents"]),
        "per_language": {
            language: {
                "documents": counts["documents"],
                "opening_only": rate(counts["opening"], counts["documents"]),
                "whole": rate(counts["whole"], counts["documents"]),
                "declared": rate(counts["declared"], counts["documents"]),
                "mixed_language": counts["mixed"],
            }
            for language, counts in sorted(totals.items())
        },
        "left_out_partly_untranslated": dict(sorted(partial.items())),
        "french_opening_in_english": {
            "documents": french_opening_english["documents"],
            "error_rate_opening_only": 1.0 if french_opening_english["documents"] else 0.0,
            "error_rate_whole": rate(french_opening_english["whole_errors"], french_opening_english["documents"]),
            "error_rate_declared": rate(
                french_opening_english["declared_errors"], french_opening_english["documents"]
            ),
        },
        "render_seconds": round(rendered, 2),
        "seconds": round(seconds, 3),
        "mb_per_s": round(size / 1e6 / seconds, 3) if seconds else 0.0,
        "peak_rss_mb": peak_rss_mb(),
    })
    leave()


if __name__ == "__main__":
    main()
