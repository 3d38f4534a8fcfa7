"""The state of the parts the site needs, for /healthz."""

from __future__ import annotations

import uuid

from django.core.cache import caches
from django.db import connection

from openllm_site.celery import app as celery_app


def _cache_check() -> str:
    # The cache backends hide their failures from the site (contributions.
    # cache); the health check asks the plain backend underneath.
    key, token = f"healthz:{uuid.uuid4().hex}", uuid.uuid4().hex
    try:
        backend = caches["default"]
        backend = getattr(backend, "unguarded", backend)
        backend.set(key, token, 30)
        found = backend.get(key)
        backend.delete(key)
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        return f"error: {type(exc).__name__}"
    return "ok" if found == token else "error: the cache did not keep a value"


def health_check(*, worker_timeout: float = 1.0) -> dict[str, str]:
    """Return ``{"database": ..., "broker": ..., "workers": ..., "cache": ...}``,
    each "ok" or the reason it is not."""
    state: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        state["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - reported, not raised
        state["database"] = f"error: {type(exc).__name__}"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            # A worker answers a broadcast ping through the broker, so this
            # proves the whole round trip.
            replies = celery_app.control.ping(timeout=worker_timeout, limit=1, connection=conn)
        state["broker"] = "ok"
        state["workers"] = "ok" if replies else "error: no worker answered"
    except Exception as exc:  # noqa: BLE001
        state["broker"] = f"error: {type(exc).__name__}"
        state["workers"] = "unknown: broker unreachable"
    state["cache"] = _cache_check()
    return state
