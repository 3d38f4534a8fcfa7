"""Where the client keeps what outlives one command: the configuration (the
site's address and a token per address, written by ``openllm login``) and
the state of uploads under way (so that an interrupted one resumes).

- configuration: ``$OPENLLM_CONFIG``, else ``$XDG_CONFIG_HOME/openllm/config.json``
  (``~/.config/openllm/config.json``), mode 0600;
- uploads under way: ``$OPENLLM_STATE``, else ``$XDG_CACHE_HOME/openllm/uploads.json``
  (``~/.cache/openllm/uploads.json``), mode 0600."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # not on Windows: uploads then go without the lock
    fcntl = None  # type: ignore[assignment]

DEFAULT_URL = "http://127.0.0.1:8000"
# An upload the server has not heard of for a day is gone (its expiry);
# entries far older than that are dropped.
STATE_KEEP_SECONDS = 7 * 24 * 3600


def _home_dir(variable: str, default: str, environ: Mapping[str, str]) -> Path:
    value = environ.get(variable)
    return Path(value) if value else Path.home() / default


def config_path(environ: Mapping[str, str] = os.environ) -> Path:
    if environ.get("OPENLLM_CONFIG"):
        return Path(environ["OPENLLM_CONFIG"]).expanduser()
    return _home_dir("XDG_CONFIG_HOME", ".config", environ) / "openllm" / "config.json"


def state_path(environ: Mapping[str, str] = os.environ) -> Path:
    if environ.get("OPENLLM_STATE"):
        return Path(environ["OPENLLM_STATE"]).expanduser()
    return _home_dir("XDG_CACHE_HOME", ".cache", environ) / "openllm" / "uploads.json"


class ConfigError(Exception):
    pass


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in ``path``; {} when there is none yet."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or exc}") from None
    try:
        data = json.loads(text) if text.strip() else {}
    except ValueError:
        raise ConfigError(str(path)) from None
    if not isinstance(data, dict):
        raise ConfigError(str(path))
    return data


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` whole or not at all, readable by its owner
    only (it holds tokens, or addresses of uploads)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes it 0600 already; said again for clarity
            os.fchmod(descriptor, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class Config:
    """``{"url": "<default address>", "tokens": {"<address>": "<token>"}}``:
    a token is only ever sent to the address it was saved for."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data = read_json(path)

    @property
    def url(self) -> str | None:
        value = self.data.get("url")
        return value if isinstance(value, str) and value else None

    def token_for(self, url: str) -> str | None:
        tokens = self.data.get("tokens")
        value = tokens.get(url) if isinstance(tokens, dict) else None
        return value if isinstance(value, str) and value else None

    def save_token(self, url: str, token: str) -> None:
        tokens = self.data.get("tokens")
        if not isinstance(tokens, dict):
            tokens = {}
        tokens[url] = token
        self.data["tokens"] = tokens
        self.data["url"] = url
        write_private_json(self.path, self.data)

    def forget_token(self, url: str) -> bool:
        tokens = self.data.get("tokens")
        if not isinstance(tokens, dict) or url not in tokens:
            return False
        del tokens[url]
        write_private_json(self.path, self.data)
        return True


def upload_key(*, server: str, corpus: int, path: Path, size: int, mtime_ns: int, options: list[str]) -> str:
    """What identifies one upload of one file: the same file (path, size and
    modification time) to the same corpus of the same server, with the same
    options."""
    raw = json.dumps([server, corpus, str(path), size, mtime_ns, *options])
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


class UploadState:
    """The uploads under way: for each, the URL the server gave it. Several
    ``openllm`` processes may run at once: each change is made under a lock
    and written whole."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with open(lock_path, "a") as lock:
            if fcntl is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                data = read_json(self.path)
            except ConfigError:
                data = {}  # a damaged state only costs a fresh upload
            uploads = data.get("uploads")
            if not isinstance(uploads, dict):
                uploads = {}
            before = json.dumps(uploads, sort_keys=True)
            yield uploads
            if json.dumps(uploads, sort_keys=True) != before:
                write_private_json(self.path, {"version": 1, "uploads": uploads})

    def get(self, key: str) -> dict[str, Any] | None:
        with self._locked() as uploads:
            entry = uploads.get(key)
        return entry if isinstance(entry, dict) and isinstance(entry.get("url"), str) else None

    def others_for(self, *, server: str, corpus: int, path: Path, key: str) -> list[tuple[str, dict[str, Any]]]:
        """Earlier uploads of the same path to the same corpus, of a file
        that has changed since (another size or time): never to be resumed."""
        with self._locked() as uploads:
            return [
                (other, entry) for other, entry in uploads.items()
                if other != key and isinstance(entry, dict) and entry.get("server") == server
                and entry.get("corpus") == corpus and entry.get("path") == str(path)
            ]

    def put(self, key: str, entry: dict[str, Any]) -> None:
        now = time.time()

        def stale(entry: object) -> bool:
            updated = entry.get("updated") if isinstance(entry, dict) else None
            return not isinstance(updated, int | float) or now - updated > STATE_KEEP_SECONDS

        with self._locked() as uploads:
            for other in [k for k, v in uploads.items() if stale(v)]:
                del uploads[other]
            uploads[key] = {**entry, "updated": now}

    def remove(self, key: str) -> None:
        with self._locked() as uploads:
            uploads.pop(key, None)
