"""Real French text for the benchmarks: Debian's French manual pages
(manpages-fr), rendered to plain text, one JSONL document a page.
Not a benchmark itself: it writes the input of one.

    .venv/bin/python bench/manpages.py /tmp/manpages-fr.jsonl
    .venv/bin/python bench/ingest.py --input /tmp/manpages-fr.jsonl

Renders with man-db's ``man -l`` (which runs tbl and friends as each page
asks), else ``mandoc``, else ``groff``; pages that only point to another
(``.so``) are skipped, and any overstrike left (``X\\bX``) is removed.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson

BENCHMARK = False

ROOT = Path("/usr/share/man/fr")
OVERSTRIKE = re.compile(".\b")
ENV = {**os.environ, "LC_ALL": "C.UTF-8", "MANWIDTH": "100", "MAN_KEEP_FORMATTING": ""}


def renderer() -> list[str]:
    """The command that renders a page given as its last argument."""
    if shutil.which("man"):
        # Neither hyphenated nor justified: words and spaces as written.
        return ["man", "--nh", "--nj", "-l"]
    if shutil.which("mandoc"):
        return ["mandoc", "-T", "utf8"]
    if shutil.which("groff"):
        return ["sh", "-c", 'zcat -f "$0" | preconv | groff -t -man -Tutf8 -P-cbou']
    raise SystemExit("no man page renderer: install man-db, mandoc or groff")


def pages(root: Path) -> Iterator[Path]:
    seen = set()
    for path in sorted(root.glob("man*/*")):
        real = path.resolve()
        if real in seen or not real.is_file():
            continue
        seen.add(real)
        opener = gzip.open if real.suffix == ".gz" else open
        with opener(real, "rb") as handle:
            if handle.read(4) == b".so ":
                continue
        yield path


def render(command: list[str], path: Path) -> str:
    result = subprocess.run([*command, str(path)], capture_output=True, env=ENV, timeout=60)
    text = OVERSTRIKE.sub("", result.stdout.decode("utf-8", "replace"))
    return "\n".join(line.rstrip() for line in text.splitlines()).strip()


def write_jsonl(out: Path, root: Path = ROOT, limit: int | None = None) -> tuple[int, int]:
    """Writes the rendered pages; returns (documents, bytes)."""
    command = renderer()
    paths = list(pages(root))[:limit]
    count = size = 0
    with out.open("wb") as handle, ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for path, text in zip(paths, pool.map(lambda p: render(command, p), paths)):
            if not text:
                continue
            line = orjson.dumps({"text": text, "source": str(path.relative_to(root))}) + b"\n"
            handle.write(line)
            count += 1
            size += len(line)
    return count, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--limit", type=int, help="at most this many pages")
    args = parser.parse_args()
    if not args.root.is_dir():
        raise SystemExit(f"{args.root}: no such folder (is manpages-fr installed?)")
    count, size = write_jsonl(args.out, args.root, args.limit)
    print(f"{args.out}: {count} pages, {size / 1e6:.1f} MB", file=sys.stderr)


if __name__ == "__main__":
    main()
