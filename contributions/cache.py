"""Cache backends that degrade instead of failing.

The cache only holds things the site can do without for a while: rate-limit
counters, and the marks that keep the sweeper from sending a waiting job
twice within two minutes (contributions.jobs; tasks are idempotent). When
Redis (or the cache folder) fails, these backends log a warning and answer
as if the key were missing, so that signing in, resetting a password or
filing a form keeps working; /healthz reports the failure (``unguarded``
gives it the plain backend, which raises).

``add`` answers True (the key "was added") while the cache is down: allauth
takes a lock with ``cache.add`` before each rate-limit check and would
otherwise refuse every sign-in after waiting a second for it. The limits
fail open: during an outage nothing is counted, which is the price of
keeping sign-in available, and the warning in the log says so.
"""

from __future__ import annotations

import logging
import threading
import time
from functools import cached_property
from urllib.parse import urlsplit

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.filebased import FileBasedCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# After a failure, the next calls skip the cache for this long: with an
# unresponsive Redis each call would otherwise wait for its socket timeout,
# several times per request.
RETRY_AFTER_SECONDS = 5.0

# A long outage is logged once a minute per process, not at every call.
LOG_EVERY_SECONDS = 60.0

# Backends are created per thread; this state is shared by the whole process.
_paused_until: dict[tuple[str, str], float] = {}
_warned_at: dict[tuple[str, str], float] = {}
_lock = threading.Lock()


def _without_password(location: str) -> str:
    parts = urlsplit(location)
    if parts.password is None:
        return location
    return parts._replace(netloc=f"***@{parts.netloc.rpartition('@')[2]}").geturl()


class _Degrading(BaseCache):
    degrade_on: tuple[type[BaseException], ...] = ()
    _location: str

    def _state_key(self) -> tuple[str, str]:
        return (type(self).__name__, self._location)

    def _guard(self, operation: str, call, fallback):
        if _paused_until.get(self._state_key(), 0.0) > time.monotonic():
            return fallback()
        try:
            return call()
        except self.degrade_on as exc:
            self._failed(operation, exc)
            return fallback()

    def _failed(self, operation: str, exc: BaseException) -> None:
        key, now = self._state_key(), time.monotonic()
        with _lock:
            _paused_until[key] = now + RETRY_AFTER_SECONDS
            say = _warned_at.get(key, -LOG_EVERY_SECONDS) <= now - LOG_EVERY_SECONDS
            if say:
                _warned_at[key] = now
        if say:
            logger.warning(
                "Cache %s unavailable (%s in %s: %s): treated as empty for %.0f s; rate limits are not counted.",
                _without_password(self._location), type(exc).__name__, operation, exc, RETRY_AFTER_SECONDS,
            )

    @staticmethod
    def _raise_missing(key):
        def fallback():
            raise ValueError(f"Key '{key}' not found")

        return fallback

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard("add", lambda: super(_Degrading, self).add(key, value, timeout, version), lambda: True)

    def get(self, key, default=None, version=None):
        return self._guard("get", lambda: super(_Degrading, self).get(key, default, version), lambda: default)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard("set", lambda: super(_Degrading, self).set(key, value, timeout, version), lambda: None)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard("touch", lambda: super(_Degrading, self).touch(key, timeout, version), lambda: False)

    def delete(self, key, version=None):
        return self._guard("delete", lambda: super(_Degrading, self).delete(key, version), lambda: False)

    def get_many(self, keys, version=None):
        return self._guard("get_many", lambda: super(_Degrading, self).get_many(keys, version), dict)

    def has_key(self, key, version=None):
        return self._guard("has_key", lambda: super(_Degrading, self).has_key(key, version), lambda: False)

    def incr(self, key, delta=1, version=None):
        # A missing key is what incr reports as ValueError; callers handle it.
        return self._guard("incr", lambda: super(_Degrading, self).incr(key, delta, version), self._raise_missing(key))

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._guard(
            "set_many", lambda: super(_Degrading, self).set_many(data, timeout, version), lambda: list(data)
        )

    def delete_many(self, keys, version=None):
        return self._guard("delete_many", lambda: super(_Degrading, self).delete_many(keys, version), lambda: None)

    def clear(self):
        return self._guard("clear", lambda: super(_Degrading, self).clear(), lambda: False)


class DegradingRedisCache(_Degrading, RedisCache):
    degrade_on = (RedisError,)

    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._location, self._params = server, params

    @cached_property
    def unguarded(self) -> BaseCache:
        """The same Redis without the fallbacks, for the health check."""
        return RedisCache(self._location, self._params)


class DegradingFileBasedCache(_Degrading, FileBasedCache):
    # Unreadable folder, full disk, a file where the folder should be.
    degrade_on = (OSError,)

    def __init__(self, dir, params) -> None:  # noqa: A002 - Django's parameter name
        self._location, self._params = dir, params
        # Django creates the folder here, at the first use of the cache in
        # each thread, and again before every write.
        try:
            super().__init__(dir, params)
        except OSError as exc:
            self._failed("open", exc)

    @cached_property
    def unguarded(self) -> BaseCache:
        return FileBasedCache(self._location, self._params)
