from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the development web server and a Celery worker (with beat) together; Ctrl-C stops both."

    def add_arguments(self, parser) -> None:
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options) -> None:
        # Links in emails point where this site is served, unless SITE_URL
        # says otherwise: the worker and runserver's child inherit it.
        if not os.environ.get("SITE_URL"):
            os.environ["SITE_URL"] = settings.SITE_URL = site_url(addrport)
        # runserver's autoreloader runs this command again in a child process
        # (RUN_MAIN=true): only the first one starts the worker.
        if os.environ.get("RUN_MAIN") != "true":
            supervisor = WorkerSupervisor(
                [
                    sys.executable, "-m", "celery", "-A", "openllm_site", "worker", "--beat",
                    "--loglevel", "INFO", "--concurrency", "2",
                    "--schedule", str(settings.VAR_DIR / "celerybeat-schedule"),
                ],
                say=lambda text: self.stderr.write(text),
            )
            supervisor.start()
            # Django's reloader turns SIGTERM into SystemExit, so this runs on
            # Ctrl-C, on `kill` and when runserver stops.
            atexit.register(supervisor.stop)
            self.stdout.write(self.style.SUCCESS(f"Site: http://{addrport}/  (worker pid {supervisor.pid})"))
        call_command("runserver", addrport)


def site_url(addrport: str) -> str:
    """The address runserver serves ``addrport`` at ("8011" is a port on
    127.0.0.1, as runserver reads it)."""
    return f"http://{'127.0.0.1:' + addrport if addrport.isdigit() else addrport}"


class WorkerSupervisor:
    """Keep one worker process running: start it again when it exits without
    being asked to (a crash, an unrecoverable error, the OOM killer), waiting
    longer after each quick failure so that a worker that cannot start does
    not spin."""

    def __init__(
        self,
        command: list[str],
        *,
        say: Callable[[str], object] = print,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
        healthy_after: float = 60.0,
        stop_timeout: float = 15.0,
        env: dict[str, str] | None = None,
    ) -> None:
        self.command, self.say, self.env = command, say, env
        self.first_delay, self.max_delay, self.healthy_after = first_delay, max_delay, healthy_after
        self.stop_timeout = stop_timeout
        self.process: subprocess.Popen | None = None
        self._started = 0.0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> None:
        self._spawn()
        self._thread.start()

    def _spawn(self) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            # A session of its own: Ctrl-C in the terminal reaches this
            # process only, which then stops the worker and its pool in order
            # instead of racing it (and restarting it).
            self.process = subprocess.Popen(self.command, env=self.env, start_new_session=True)
            self._started = time.monotonic()

    def _watch(self) -> None:
        delay = self.first_delay
        while not self._stopping.is_set():
            process = self.process
            if process is None:  # stopped before it ever started
                return
            code = process.wait()
            if self._stopping.is_set():
                return
            # What the dead worker started (its pool, the embedded beat) would
            # otherwise live on beside the next one: two beats, say.
            _kill_group(process.pid)
            if time.monotonic() - self._started >= self.healthy_after:
                delay = self.first_delay
            self.say(f"The Celery worker (pid {process.pid}) exited with code {code}; starting it again in {delay:g}s.")
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, self.max_delay)
            self._spawn()

    def stop(self) -> None:
        """Warm shutdown (running tasks finish) within ``stop_timeout``, then
        kill the worker and its pool."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        try:
            # The main process only: it lets its pool finish the running tasks.
            process.terminate()
            process.wait(timeout=self.stop_timeout)
            # Its pool and beat processes end just after it.
            deadline = time.monotonic() + 5
            while _group_alive(process.pid) and time.monotonic() < deadline:
                time.sleep(0.1)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            pass  # too slow, or a second Ctrl-C
        # Whatever is left of the group goes: no orphan pool process or beat.
        _kill_group(process.pid)
        process.wait()


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
