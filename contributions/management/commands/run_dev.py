from __future__ import annotations

import atexit
import os
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the development web server and a Celery worker (with beat) together; Ctrl-C stops both."

    def add_arguments(self, parser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options) -> None:
        # runserver's autoreloader runs this command again in a child process
        # (RUN_MAIN=true): only the first one starts the worker.
        if os.environ.get("RUN_MAIN") != "true":
            worker = subprocess.Popen(
                [
                    sys.executable, "-m", "celery", "-A", "openllm_site", "worker", "--beat",
                    "--loglevel", "INFO", "--concurrency", "2",
                    "--schedule", str(settings.VAR_DIR / "celerybeat-schedule"),
                ]
            )
            atexit.register(_stop, worker)
            self.stdout.write(self.style.SUCCESS(f"Site: http://{addrport}/  (worker pid {worker.pid})"))
        call_command("runserver", addrport)


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.terminate()
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()
