"""Every benchmark under bench/ still runs against the current code: each, at
its tiny size, in a process of its own, prints its figures as one JSON line,
on a throw-away site that it removes afterwards."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# What every benchmark prints, whatever it measures.
COMMON_FIGURES = ("seconds", "mb_per_s", "peak_rss_mb")
# Settings that would point a child process at something shared.
SHARED = ("DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "S3_BUCKET", "EMAIL_HOST", "MEDIA_ROOT", "VAR_DIR",
          "JOB_WORK_DIR")


def _constant(tree: ast.Module, name: str):
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == name for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def _is_main_guard(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and ast.unparse(node.test).replace("'", '"') == '__name__ == "__main__"'


def benchmarks() -> dict[Path, tuple[str, ...]]:
    """The scripts of bench/ run from the command line with argparse, less
    the helpers (``BENCHMARK = False``), each with the figures it declares
    (``FIGURES``). A new benchmark is picked up without being listed here."""
    found = {}
    for path in sorted(BENCH.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        imports = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        if not any(_is_main_guard(node) for node in tree.body) or "argparse" not in imports:
            continue
        if _constant(tree, "BENCHMARK") is False:
            continue
        found[path] = tuple(_constant(tree, "FIGURES") or ())
    return found


BENCHMARKS = benchmarks()


def test_the_benchmarks_are_found():
    # An empty discovery would let every benchmark break unnoticed.
    assert {"ingest.py", "release.py"} <= {path.name for path in BENCHMARKS}
    assert "corpusgen.py" not in {path.name for path in BENCHMARKS}
    assert "manpages.py" not in {path.name for path in BENCHMARKS}


@pytest.mark.parametrize("script", list(BENCHMARKS), ids=lambda path: path.name)
def test_benchmark_runs_at_its_tiny_size(script, tmp_path):
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    env = {name: value for name, value in os.environ.items() if name not in SHARED}
    # Never the tests' database, broker or media, even if a benchmark
    # forgot to set up its own site (it must: that file stays unwritten).
    fallback_db = tmp_path / "environment.sqlite3"
    env.update(
        DATABASE_URL=f"sqlite:///{fallback_db}", VAR_DIR=str(tmp_path / "var"), MEDIA_ROOT=str(tmp_path / "media"),
        TMPDIR=str(temporary), PYTHONUNBUFFERED="1",
    )
    result = subprocess.run(
        [sys.executable, str(script), "--tiny"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-4000:]
    lines = result.stdout.strip().splitlines()
    assert lines, f"{script.name} printed nothing; stderr: {result.stderr[-2000:]}"
    figures = json.loads(lines[-1])
    for key in (*COMMON_FIGURES, *BENCHMARKS[script]):
        assert isinstance(figures.get(key), int | float) and figures[key] > 0, (key, figures)
    assert not fallback_db.exists(), f"{script.name} used the database of its environment"
    assert not list(temporary.iterdir()), f"{script.name} left {list(temporary.iterdir())}"
