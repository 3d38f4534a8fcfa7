"""Uploads through the site's tus 1.0 endpoint (/api/v1/uploads/), resumable.

An upload starts with a POST (``Upload-Length``, ``Upload-Metadata``) whose
``Location`` is the upload's URL; chunks follow as PATCHes at the offset the
server holds, each with its SHA-1 (``Upload-Checksum``). The URL is kept in
the state file (config.UploadState) under a key made of the server, the
corpus, the file's absolute path, size and modification time, and the
upload's options; a later run with the same file HEADs that URL and goes on
from the offset the server gives. The server's word is the only offset
trusted: a 409 names it, and a chunk whose answer was lost is found there.
Connection errors and 5xx answers are retried with growing delays, and so
are answers that take the upload no farther than it has been (a 409 naming
the same offset, or one behind): each counts against ``--retries``. 423
(another request is writing) and 429 wait (``Retry-After``, in ASCII
digits or an HTTP date, at most a minute); 460 (checksum mismatch) sends
the chunk again. The last chunk's answer carries the new corpus file's id
(``Corpus-File``), or the reason the server refused the file."""

from __future__ import annotations

import base64
import datetime
import email.utils
import hashlib
import os
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from . import i18n
from .client import ApiError, Client, NetworkError, Response, UsageError
from .config import UploadState, upload_key
from .i18n import _
from .output import Progress, terminal_safe

TUS_VERSION = "1.0.0"
DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
SUPPORTED_SUFFIXES = (".txt", ".md", ".jsonl", ".csv", ".tsv", ".parquet", ".zip", ".tar.gz", ".tgz")
# Seconds before each new try after a connection error or a 5xx answer.
BACKOFF = [0.5, 1, 2, 4, 8, 15, 30, 60]
# Waits for a 423 (another request is writing this upload) or a 429, and
# the longest wait a Retry-After may ask for.
MAX_WAITS = 30
MAX_RETRY_AFTER = 60.0


def supported(name: str) -> bool:
    return name.lower().endswith(SUPPORTED_SUFFIXES)


@dataclass(frozen=True)
class LocalFile:
    path: Path  # absolute
    name: str  # as the user knows it: its path inside the folder named
    size: int
    mtime_ns: int

    @property
    def filename(self) -> str:
        """The name the server is given (and keeps): without the folders."""
        return self.name.rsplit("/", 1)[-1]

    def named(self, message: str) -> str:
        """A server's message about the file, naming it as the user knows it."""
        if self.name != self.filename and message.startswith(self.filename + ":"):
            return self.name + message[len(self.filename):]
        if self.filename not in message:
            return f"{self.name}: {message}"
        return message


def collect(paths: list[str]) -> list[LocalFile]:
    """The files to upload: each file named, and in each folder named, the
    files of a supported type below it (hidden ones left out), sorted.
    A folder's files are named by their path inside it."""
    found: list[LocalFile] = []
    seen: set[Path] = set()

    def add(path: Path, name: str) -> None:
        path = path.resolve()
        if path in seen:
            return
        seen.add(path)
        try:
            info = path.stat()
        except OSError as exc:
            raise UsageError(_("{path}: cannot be read ({reason}).").format(
                path=path, reason=exc.strerror or exc)) from None
        found.append(LocalFile(path=path, name=name, size=info.st_size, mtime_ns=info.st_mtime_ns))

    for given in paths:
        path = Path(given).expanduser()
        if path.is_dir():
            before = len(found)
            for folder, folders, files in os.walk(path):
                folders[:] = sorted(d for d in folders if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith(".") or not supported(name):
                        continue
                    full = Path(folder) / name
                    if full.is_file():
                        add(full, full.relative_to(path).as_posix())
            if len(found) == before:
                raise UsageError(_("{path}: no file of a supported type in this folder ({types}).").format(
                    path=given, types=" ".join(SUPPORTED_SUFFIXES)))
        elif path.is_file():
            add(path, path.name)
        elif path.exists():
            raise UsageError(_("{path}: not a file or a folder.").format(path=given))
        else:
            raise UsageError(_("{path}: no such file or folder.").format(path=given))
    return found


class FileRejected(Exception):
    """The server refused the file (its type, its content): the message
    names it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UploadGone(Exception):
    """The server no longer knows the upload (expired, or cancelled)."""


def metadata(values: dict[str, str]) -> str:
    """tus's Upload-Metadata: ``key base64(value)`` pairs (a key alone for
    an empty value)."""
    pairs = []
    for key, value in values.items():
        encoded = base64.b64encode(value.encode("utf-8")).decode("ascii")
        pairs.append(f"{key} {encoded}" if encoded else key)
    return ",".join(pairs)


def _number(value: str | None) -> int | None:
    """A header's whole number: ASCII digits only (``str.isdigit`` also
    takes ``²``, which ``int`` refuses), and not thousands of them."""
    value = (value or "").strip()
    return int(value) if re.fullmatch(r"[0-9]{1,19}", value) else None


def _offset(response: Response) -> int | None:
    return _number(response.header("Upload-Offset"))


def _file_id(response: Response) -> int | None:
    return _number(response.header("Corpus-File"))


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (a number of seconds in
    ASCII digits, or an HTTP date), at most MAX_RETRY_AFTER; None when it
    is missing or not one of those."""
    value = (value or "").strip()
    if re.fullmatch(r"[0-9]+", value):
        return MAX_RETRY_AFTER if len(value) > 6 else min(float(value), MAX_RETRY_AFTER)
    if not value or not value.isascii():
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, says RFC 5322
        when = when.replace(tzinfo=datetime.UTC)
    seconds = when.timestamp() - (time.time() if now is None else now)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class Uploader:
    def __init__(
        self, client: Client, corpus: int, *, state: UploadState, split: str = "file", separator: str = "",
        text_column: str = "text", chunk_size: int = DEFAULT_CHUNK_SIZE, retries: int = 5,
        progress: bool = True, stream: TextIO | None = None, sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client, self.corpus, self.state = client, corpus, state
        self.split, self.separator, self.text_column = split, separator, text_column
        self.chunk_size, self.retries = chunk_size, retries
        self.progress, self.stream, self.sleep = progress, stream or sys.stderr, sleep

    # -------------------------------------------------------------- helpers

    def _say(self, message: str) -> None:
        self.stream.write(terminal_safe(message) + "\n")
        self.stream.flush()

    def _headers(self, **extra: str) -> dict[str, str]:
        return {"Tus-Resumable": TUS_VERSION, **extra}

    def _key(self, item: LocalFile) -> str:
        return upload_key(
            server=self.client.url, corpus=self.corpus, path=item.path, size=item.size, mtime_ns=item.mtime_ns,
            options=[self.split, self.separator, self.text_column],
        )

    def _retry_delay(self, failures: int, reason: str, label: str) -> None:
        """Wait before try number ``failures + 1``, or give up."""
        if failures > self.retries:
            raise NetworkError(_("{name}: giving up after {tries} tries ({reason}). Run the same command again "
                                 "to resume the upload.").format(name=label, tries=failures, reason=reason))
        delay = BACKOFF[min(failures - 1, len(BACKOFF) - 1)]
        self._say(_("{name}: {reason}; trying again in {seconds} s ({attempt} of {tries}).").format(
            name=label, reason=reason, seconds=delay, attempt=failures, tries=self.retries))
        self.sleep(delay)

    def _wait(self, response: Response, waits: int, label: str) -> None:
        if waits > MAX_WAITS:
            raise response.error()
        delay = retry_after(response.header("Retry-After"))
        self.sleep(min(0.5 * waits, 5.0) if delay is None else delay)

    def _call(self, method: str, url: str, label: str, *, data: bytes | None = None,
              headers: dict[str, str] | None = None) -> Response:
        """One request, tried again on connection errors and 5xx answers,
        waiting on 423 and 429."""
        failures = waits = 0
        while True:
            try:
                response = self.client.request(method, url, data=data, headers=self._headers(**(headers or {})))
            except NetworkError as exc:
                failures += 1
                self._retry_delay(failures, exc.message, label)
                continue
            if response.status >= 500:
                failures += 1
                self._retry_delay(failures, _("the server answered HTTP {status}").format(status=response.status),
                                  label)
                continue
            if response.status in (423, 429):
                waits += 1
                self._wait(response, waits, label)
                continue
            return response

    # -------------------------------------------------------------- steps

    def _create(self, item: LocalFile) -> tuple[str, int | None]:
        """A new upload: its URL, and the file's id when the server finished
        it at once (an empty file)."""
        fields = {"filename": item.filename, "corpus": str(self.corpus), "split": self.split,
                  "separator": self.separator, "text_column": self.text_column}
        response = self._call("POST", "uploads/", item.name, headers={
            "Upload-Length": str(item.size), "Upload-Metadata": metadata(fields)})
        if response.status in (400, 413):
            # Its name, its size, its options or the corpus's state, said
            # before any byte is sent.
            raise FileRejected(item.named(response.error().message))
        if response.status != 201:
            raise response.error()
        location = response.header("Location")
        if not location:
            raise ApiError(response.status, "bad_response", _("The server gave no address for the upload."))
        return self.client.on_this_site(location), _file_id(response)

    def _head(self, url: str, label: str) -> Response:
        response = self._call("HEAD", url, label)
        if response.status in (404, 410):
            raise UploadGone
        if response.status != 200:
            raise response.error()
        return response

    def _send(self, url: str, offset: int, chunk: bytes, item: LocalFile) -> tuple[int, int | None]:
        """Append ``chunk`` at ``offset``: the server's offset after it, and
        the file's id once the upload is whole."""
        digest = base64.b64encode(hashlib.sha1(chunk, usedforsecurity=False).digest()).decode("ascii")
        headers = {"Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset),
                   "Upload-Checksum": f"sha1 {digest}"}
        mismatches = 0
        while True:
            response = self._call("PATCH", url, item.name, data=chunk, headers=headers)
            if response.status == 460:  # damaged on the way: send it again
                mismatches += 1
                if mismatches > self.retries:
                    raise response.error()
                continue
            break
        if response.status in (204, 200):
            server_offset = _offset(response)
            if server_offset is None:
                raise ApiError(response.status, "bad_response", _("The server did not say where the upload is."))
            return server_offset, _file_id(response)
        if response.status == 409:
            # Not where we thought (an answer lost on the way, another
            # process): the server's offset is the one to go on from.
            server_offset = _offset(response)
            if server_offset is None:
                raise response.error()
            return server_offset, None
        if response.status in (404, 410):
            raise UploadGone
        if response.status == 400:
            error = response.error()
            if error.code == "file_rejected":
                raise FileRejected(item.named(error.message))
            raise error
        raise response.error()

    # -------------------------------------------------------------- upload

    def upload(self, item: LocalFile) -> int:
        """Upload one file (resuming an earlier upload of it): the id of the
        corpus file made. FileRejected when the server refuses it."""
        try:
            return self._upload(item)
        except UploadGone:
            # Expired or cancelled on the server after we looked: once more
            # from the start.
            self.state.remove(self._key(item))
        try:
            return self._upload(item)
        except UploadGone:
            self.state.remove(self._key(item))
            raise ApiError(410, "upload_gone", _("{name}: the server dropped the upload while it was being sent; "
                                                 "try again later.").format(name=item.name)) from None

    def _resumable(self, item: LocalFile, key: str) -> tuple[str, int, int | None] | None:
        """The upload of this file begun earlier, as the server has it."""
        for other, stale in self.state.others_for(server=self.client.url, corpus=self.corpus, path=item.path,
                                                  key=key):
            # The file changed since: that upload is of no use; cancel it.
            try:
                self.client.request("DELETE", stale["url"], headers=self._headers(), timeout=15)
            except (NetworkError, KeyError, TypeError):
                pass
            self.state.remove(other)
        entry = self.state.get(key)
        if entry is None:
            return None
        try:
            response = self._head(entry["url"], item.name)
        except (UploadGone, ApiError):
            self.state.remove(key)
            return None
        length = (response.header("Upload-Length") or "").strip()
        offset = _offset(response)
        if offset is None or length != str(item.size):
            self.state.remove(key)
            return None
        return entry["url"], offset, _file_id(response)

    def _upload(self, item: LocalFile) -> int:
        key = self._key(item)
        found = self._resumable(item, key)
        if found is not None:
            url, offset, file_id = found
            if file_id is not None:
                # Finished before the last run could hear of it.
                self.state.remove(key)
                return file_id
            if offset:
                self._say(_("{name}: resuming at {offset} of {size}.").format(
                    name=item.name, offset=i18n.size(offset), size=i18n.size(item.size)))
        else:
            url, file_id = self._create(item)
            if file_id is not None:
                return file_id
            offset = 0
            self.state.put(key, {"url": url, "server": self.client.url, "corpus": self.corpus,
                                 "path": str(item.path), "size": item.size, "mtime_ns": item.mtime_ns})
        progress = Progress(item.name, item.size, stream=self.stream, enabled=self.progress)
        progress.start(offset)
        file_id = None
        # The farthest the server has been, and the answers since that took
        # it no farther (a 409 or a 204 at the same offset, or one behind):
        # failures, against the same budget as network errors.
        farthest, stalls = offset, 0
        try:
            with item.path.open("rb") as handle:
                while offset < item.size:
                    handle.seek(offset)
                    chunk = handle.read(min(self.chunk_size, item.size - offset))
                    if not chunk:
                        raise UsageError(_("{name}: the file became shorter while it was being sent.").format(
                            name=item.name))
                    offset, file_id = self._send(url, offset, chunk, item)
                    progress.update(offset)
                    if offset > farthest:
                        farthest, stalls = offset, 0
                    elif offset < item.size:
                        stalls += 1
                        self._retry_delay(stalls, _("the server's offset does not move on (it stays at {offset} of "
                                                    "{size})").format(offset=i18n.integer(offset),
                                                                      size=i18n.integer(item.size)), item.name)
            if file_id is None:
                # The last answer was lost: the server says how it ended.
                file_id = _file_id(self._head(url, item.name))
        except FileRejected:
            progress.abandon()
            self.state.remove(key)  # the server dropped the upload
            raise
        except BaseException:
            progress.abandon()
            raise
        progress.finish()
        if file_id is None:
            raise ApiError(200, "bad_response", _("{name}: the server did not confirm the file.").format(
                name=item.name))
        self.state.remove(key)
        try:
            if item.path.stat().st_mtime_ns != item.mtime_ns:
                self._say(_("{name}: warning: the file changed while it was being sent.").format(name=item.name))
        except OSError:
            pass
        return file_id
