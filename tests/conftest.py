from __future__ import annotations

import email
import email.policy
import os
import runpy
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from unittest import mock

import pytest
from django.core.cache import cache
from django.test import override_settings

from openllm_site.celery import app as celery_app

from .factories import MaintainerFactory, ReviewerFactory, UserFactory

ROOT = Path(__file__).resolve().parent.parent
# Parallel runs on one broker (several checkouts, CI) set a queue each.
TEST_QUEUE = os.environ.get("TEST_QUEUE", "openllm-tests")
STALE_SECONDS = 3


@pytest.fixture(scope="session", autouse=True)
def _test_queue() -> None:
    # Tasks sent by the tests go to a queue of their own, so that a worker of
    # a running `make run` never takes them (and the other way round).
    celery_app.conf.task_default_queue = TEST_QUEUE


MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="openllm-test-media-"))


@pytest.fixture(scope="session", autouse=True)
def _test_settings() -> Iterator[None]:
    # Real password hashing costs a second per user, and the tests create
    # hundreds. Uploads go to a folder of their own, shared with the worker.
    with override_settings(
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"], MEDIA_ROOT=str(MEDIA_ROOT)
    ):
        yield
    shutil.rmtree(MEDIA_ROOT, ignore_errors=True)


@pytest.fixture(autouse=True)
def _clean_slate() -> Iterator[None]:
    # allauth's rate limits live in the cache; stored files outlive the
    # rolled-back rows that named them. Each test starts afresh.
    cache.clear()
    yield
    for path in MEDIA_ROOT.iterdir():
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def member(db):
    return UserFactory()


@pytest.fixture
def other_member(db):
    return UserFactory()


@pytest.fixture
def reviewer(db):
    return ReviewerFactory()


@pytest.fixture
def maintainer(db):
    return MaintainerFactory()


def database_url() -> str:
    """The URL of the test database, for processes started by the tests."""
    from django.db import connection

    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    host, port = db["HOST"] or "localhost", db["PORT"] or 5432
    return f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{host}:{port}/{db['NAME']}"


def child_env(**overrides: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_TASK_DEFAULT_QUEUE": TEST_QUEUE,
        "MEDIA_ROOT": str(MEDIA_ROOT),
    }
    env.update(overrides)
    return env


class Worker:
    """A Celery worker process on the configured broker and the test database,
    sending email to files in ``outbox``."""

    def __init__(self, env: dict[str, str], outbox: Path, log: Path, concurrency: int = 1) -> None:
        self.env, self.outbox, self.log, self.concurrency = env, outbox, log, concurrency
        self.name = f"tests-{uuid.uuid4().hex[:8]}@{os.uname().nodename}"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "openllm_site", "worker", "-Q", TEST_QUEUE, "-n", self.name,
             "--pool", "prefork", "--concurrency", str(self.concurrency), "--loglevel", "INFO", "--without-mingle",
             "--without-gossip"],
            cwd=ROOT, env=self.env, stdout=self.log.open("a"), stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while not celery_app.control.ping(destination=[self.name], timeout=0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError(f"the Celery worker did not start:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def children(self) -> list[int]:
        """Pids of the pool processes (the ones that run tasks)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == self.process.pid:
                found.append(int(stat.parent.name))
        return found

    def kill(self) -> None:
        """SIGKILL the worker and its pool: nothing gets to clean up."""
        for pid in [*self.children(), self.process.pid]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()

    def mails(self, to: str | None = None) -> list[EmailMessage]:
        found = []
        for path in sorted(self.outbox.glob("*.log")):
            # The file backend writes several messages to one file, each
            # followed by a line of dashes.
            for chunk in path.read_bytes().split(b"-" * 79 + b"\n"):
                if chunk.strip():
                    message = email.message_from_bytes(chunk, policy=email.policy.default)
                    if to is None or message["To"] == to:
                        found.append(message)
        return found

    @staticmethod
    def text(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    def wait_for_mail(self, to: str, count: int = 1, timeout: float = 30) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            mails = self.mails(to)
            if len(mails) >= count:
                return mails
            time.sleep(0.2)
        raise AssertionError(f"no mail to {to} after {timeout}s; worker log:\n{self.log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Worker]:
    """A real Celery worker process. Tests that use it need
    ``django_db(transaction=True)`` so that the worker sees their rows."""
    with django_db_blocker.unblock():
        env = child_env()
    outbox = tmp_path_factory.mktemp("outbox")
    env.update(
        {
            "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "EMAIL_FILE_PATH": str(outbox),
            # Tests kill workers: the survivors take over after 3 s, not 5 min.
            "JOB_STALE_SECONDS": str(STALE_SECONDS),
        }
    )
    env.pop("EMAIL_HOST", None)
    celery_app.control.purge()
    worker = Worker(env, outbox, tmp_path_factory.mktemp("worker") / "worker.log")
    worker.start()
    yield worker
    worker.stop()


class RedisServer:
    """A redis-server of the test's own, on a free port, that the test may
    stop and start again (the machine's shared Redis is never touched)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis

        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.folder)],
            stdout=(self.folder / "redis.log").open("a"), stderr=subprocess.STDOUT,
        )
        client, deadline = redis.Redis(port=self.port, socket_timeout=1), time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.folder / "redis.log").read_text()
                    raise RuntimeError(f"redis-server did not start: {log}") from None
                time.sleep(0.05)

    def stop(self) -> None:
        """What a restart does to the data: all gone (nothing saved)."""
        if self.process and self.process.poll() is None:
            subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True, timeout=10)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@pytest.fixture
def redis_server(tmp_path) -> Iterator[RedisServer]:
    if not shutil.which("redis-server") or not shutil.which("redis-cli"):
        if os.environ.get("CI"):
            pytest.fail("redis-server is missing, and CI runs the broker tests: apt-get install redis-server")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@contextmanager
def celery_broker(url: str) -> Iterator[None]:
    """Point this process's Celery app at another broker, configured the way
    settings.py configures a process started with ``CELERY_BROKER_URL=url``."""
    with mock.patch.dict(os.environ, {"CELERY_BROKER_URL": url}):  # Celery reads it before its conf
        values = runpy.run_path(str(ROOT / "openllm_site" / "settings.py"))
        conf = {key[7:].lower(): value for key, value in values.items() if key.startswith("CELERY_BROKER_")}
        saved = {key: celery_app.conf.get(key) for key in conf}
        _celery_reconnect(conf)
        try:
            yield
        finally:
            celery_app.pool.force_close_all()
            _celery_reconnect(saved)


def _celery_reconnect(conf: dict[str, object]) -> None:
    celery_app.conf.update(conf)
    # Connections and producers are pooled per app: the next ones must be made
    # from the new configuration.
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's chromium driven by Playwright: never a downloaded browser."""
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = "/usr/bin/chromium"
    if not Path(executable).exists():
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: .ci/run installs it")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    # Playwright's sync API runs an event loop in this thread; Django's ORM
    # calls from the test itself are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def pytest_collection_modifyitems(items) -> None:
    # Tests that start processes or a browser go last, after the fast ones.
    items.sort(key=lambda item: bool(item.get_closest_marker("worker") or item.get_closest_marker("browser")))

