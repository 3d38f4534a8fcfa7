"""What the benchmarks share: a throw-away site under one temporary folder,
and the one JSON line of figures. Not a benchmark itself.

Every benchmark script under bench/ (one with an argparse ``main``) accepts
``--tiny`` (the smallest run that goes through every code path, in seconds)
and prints its figures as one JSON line, the last on stdout, with at least
``seconds``, ``mb_per_s`` and ``peak_rss_mb``; tests/test_bench.py runs each
of them that way. Helpers such as this one set ``BENCHMARK = False``.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path

BENCHMARK = False

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Settings that would point a benchmark at something shared: a database,
# a broker, a cache, a bucket, a mail server.
SHARED = (
    "DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "S3_BUCKET", "EMAIL_HOST", "EMAIL_BACKEND", "MEDIA_ROOT",
    "JOB_WORK_DIR", "FILE_UPLOAD_TEMP_DIR",
)


def throwaway_site(tmp: Path, *, migrate: bool = False) -> None:
    """Set Django up on a site of its own under ``tmp``: SQLite database,
    media, file-system broker and cache. Whatever the environment says, a
    benchmark never writes to a real database (it creates users and corpora)."""
    for name in SHARED:
        os.environ.pop(name, None)
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "openllm_site.settings",
            "VAR_DIR": str(tmp),
            "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
            "MEDIA_ROOT": str(tmp / "media"),
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
            # One maintainer's approval settles a review, as by default.
            "REVIEW_MAINTAINER_SETTLES": "yes",
        }
    )
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def peak_rss_mb() -> float:
    """The process's peak resident memory (Linux reports kilobytes)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def emit(figures: dict) -> None:
    """The figures, as the last line on stdout."""
    sys.stdout.write(json.dumps(figures) + "\n")
    sys.stdout.flush()


def leave() -> None:
    """End the process once its work is written, without the native
    libraries' exit handlers: one of them (a C++ thread pool) aborted the
    process once under load ("terminate called without an active
    exception"), after all was done."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
