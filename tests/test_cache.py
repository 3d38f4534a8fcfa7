from __future__ import annotations

import logging
import signal
import socket
from collections.abc import Iterator

import pytest
from django.conf import settings as django_settings
from django.test import override_settings
from django.urls import reverse

from contributions import cache as degrading
from contributions.models import RemovalRequest

from .factories import PASSWORD

pytestmark = pytest.mark.django_db

# Port 9 (discard) has nothing listening: every connection is refused.
CLOSED_REDIS = "redis://127.0.0.1:9/1"
REMOVAL = {"kind": "copyright", "phrase": "Une phrase de mon livre", "contact": "auteur@example.org"}


def redis_cache(location: str) -> dict:
    return {
        "fragments": django_settings.CACHES["fragments"],
        "default": {
            "BACKEND": "contributions.cache.DegradingRedisCache",
            "LOCATION": location,
            # The production options (settings.py), whatever CACHE_URL the tests run with.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }


@pytest.fixture(autouse=True)
def _no_pause() -> Iterator[None]:
    # The pause after a failure is per process: one test's outage must not
    # carry over to the next.
    degrading._paused_until.clear()
    degrading._warned_at.clear()
    yield
    degrading._paused_until.clear()
    degrading._warned_at.clear()


@pytest.fixture
def redis_down() -> Iterator[None]:
    with override_settings(CACHES=redis_cache(CLOSED_REDIS)):
        yield


@pytest.fixture
def broken_file_cache(tmp_path) -> Iterator[None]:
    # A file where the cache folder should be: every read and write fails.
    location = tmp_path / "cache"
    location.write_text("not a folder")
    with override_settings(
        CACHES={
            "fragments": django_settings.CACHES["fragments"],
            "default": {"BACKEND": "contributions.cache.DegradingFileBasedCache", "LOCATION": str(location)},
        }
    ):
        yield


def test_settings_use_the_degrading_backends():
    backend = django_settings.CACHES["default"]["BACKEND"]
    assert backend in {"contributions.cache.DegradingRedisCache", "contributions.cache.DegradingFileBasedCache"}


def test_healthz_reports_a_working_cache(client):
    # The configured cache: the file cache, or Redis when CACHE_URL is set.
    assert client.get("/healthz").json()["cache"] == "ok"


@pytest.mark.usefixtures("redis_down")
def test_sign_in_works_while_redis_is_down(client, member, caplog):
    with caplog.at_level(logging.WARNING, logger="contributions.cache"):
        response = client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(member.pk)
    # Said once, not at every cache call.
    [warning] = [r for r in caplog.records if r.name == "contributions.cache"]
    assert "ConnectionError" in warning.getMessage() and "rate limits are not counted" in warning.getMessage()


@pytest.mark.usefixtures("redis_down")
def test_password_reset_works_while_redis_is_down(client, member):
    response = client.post(reverse("account_reset_password"), {"email": member.email})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_reset_password_done")


@pytest.mark.usefixtures("redis_down")
def test_forms_are_accepted_while_redis_is_down(client):
    # Fail open: nothing is counted during the outage.
    for _ in range(7):
        assert client.post(reverse("contributions:removal_new"), REMOVAL).status_code == 200
    assert RemovalRequest.objects.count() == 7


@pytest.mark.usefixtures("redis_down")
def test_healthz_reports_redis_down(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    state = response.json()
    assert state["cache"] == "error: ConnectionError"
    assert state["database"] == "ok"


@pytest.mark.usefixtures("broken_file_cache")
def test_sign_in_and_forms_work_while_the_file_cache_is_broken(client, member):
    response = client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(member.pk)
    assert client.post(reverse("contributions:removal_new"), REMOVAL).status_code == 200
    assert client.get("/healthz").json()["cache"].startswith("error: ")


def test_a_redis_that_never_answers_does_not_hold_requests(client, member):
    # A socket that accepts connections but never replies: without socket
    # timeouts every cache call would wait forever.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)

    def hung(signum, frame):
        raise AssertionError("the sign-in waited on the cache for 20 s")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        with override_settings(CACHES=redis_cache(f"redis://127.0.0.1:{silent.getsockname()[1]}/1")):
            response = client.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
            health = client.get("/healthz").json()
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        silent.close()
    assert response.status_code == 302
    assert health["cache"] == "error: TimeoutError"
