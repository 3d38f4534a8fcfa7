"""HTTP calls to the site's API, with the standard library only.

Every answer comes back as a ``Response`` whatever its status; ``Client.call``
turns an unexpected one into ``ApiError`` (the API's error shape: ``code``,
``message``, ``field``, ``errors``). A connection that cannot be made or that
drops is a ``NetworkError``, never a traceback."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from . import __version__, i18n
from .i18n import _

USER_AGENT = f"openllm-cli/{__version__}"
API_PREFIX = "/api/v1/"
# The most read of an API answer (JSON, an error): a server that sends more,
# or sends without end, is refused rather than let memory grow. Downloads are
# streamed to disk instead (main._download_one), within the size announced.
MAX_ANSWER_BYTES = 16 * 1024 * 1024
READ_BLOCK = 64 * 1024
# A paginated list ends within so many pages and results, and never asks
# twice for the same page: a server whose ``next`` goes round in circles or
# never ends is stopped.
MAX_PAGES = 10_000
MAX_RESULTS = 500_000


class ApiError(Exception):
    """An answer of the API that says no, in its error shape."""

    def __init__(
        self, status: int, code: str, message: str, field: str | None = None, errors: list[dict] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field
        self.errors = errors or []


class UsageError(Exception):
    """The command itself is wrong: an option, a file, the metadata."""


class NetworkError(Exception):
    """The server could not be reached, or the connection dropped."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Response:
    status: int
    headers: Message
    body: bytes = b""
    url: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        try:
            return json.loads(self.body.decode("utf-8"))
        except (UnicodeError, ValueError, RecursionError):
            raise ApiError(
                self.status, "bad_response",
                _("The server's answer (HTTP {status}) is not the JSON expected: is {url} the platform's address?")
                .format(status=self.status, url=self.url),
            ) from None

    def error(self) -> ApiError:
        """This answer as an ApiError: the server's message when it gave one."""
        try:
            body = json.loads(self.body.decode("utf-8"))
        except (UnicodeError, ValueError, RecursionError):
            body = None
        if isinstance(body, dict) and isinstance(body.get("message"), str):
            errors = body.get("errors")
            return ApiError(
                self.status, str(body.get("code") or "error"), body["message"],
                body.get("field") if isinstance(body.get("field"), str) else None,
                [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else [],
            )
        if self.status == 404:
            message = _("Not found (HTTP 404): {url}").format(url=self.url)
        elif self.status >= 500:
            message = _("The server failed (HTTP {status}); try again later.").format(status=self.status)
        else:
            message = _("Unexpected answer from the server: HTTP {status}.").format(status=self.status)
        return ApiError(self.status, "http_" + str(self.status), message)


def base_url(value: str) -> str:
    """The site's address as given (``https://host``, ``https://host/``,
    ``https://host/api/v1/``...), reduced to its root, without a slash."""
    value = value.strip()
    parts = urllib.parse.urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(value)
    path = parts.path.rstrip("/")
    for suffix in ("/api/v1", "/api"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def read_at_most(answer: Any, limit: int) -> bytes | None:
    """The body of ``answer``, read in blocks; None as soon as it goes past
    ``limit`` bytes (what was read is dropped)."""
    parts: list[bytes] = []
    total = 0
    while True:
        block = answer.read(min(READ_BLOCK, limit + 1 - total))
        if not block:
            return b"".join(parts)
        total += len(block)
        if total > limit:
            return None
        parts.append(block)


def _error_body(exc: urllib.error.HTTPError) -> bytes:
    """The body of an error answer, or nothing when it cannot be read or is
    too large (the status then speaks for itself)."""
    try:
        return read_at_most(exc, MAX_ANSWER_BYTES) or b""
    except (OSError, http.client.HTTPException, ValueError):
        return b""


def too_large(status: int) -> ApiError:
    return ApiError(status, "too_large", _("The server's answer is too large (more than {size}).").format(
        size=i18n.size(MAX_ANSWER_BYTES)))


def _opener() -> urllib.request.OpenerDirector:
    return urllib.request.build_opener()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, BaseException):
            return _reason(reason)
        return str(reason)
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return _("TLS error: {reason}").format(reason=getattr(exc, "reason", None) or exc)
    if isinstance(exc, socket.timeout | TimeoutError):
        return _("no answer in time")
    if isinstance(exc, ConnectionRefusedError):
        return _("connection refused")
    if isinstance(exc, ConnectionResetError | BrokenPipeError | http.client.RemoteDisconnected):
        return _("the connection was closed")
    if isinstance(exc, socket.gaierror):
        return _("unknown host")
    return str(exc) or type(exc).__name__


@dataclass
class Client:
    url: str
    token: str | None = None
    language: str = "en"
    timeout: float = 60.0
    opener: urllib.request.OpenerDirector = field(default_factory=_opener)

    def absolute(self, path: str) -> str:
        """``path`` under the API (``corpora/``), or a URL kept as is."""
        if path.startswith(("http://", "https://")):
            return path
        return self.url + API_PREFIX + path.lstrip("/")

    def on_this_site(self, url: str) -> str:
        """A URL the server gave (an upload's ``Location``, the ``next``
        page), on the address we use: a server behind a proxy may name
        itself otherwise, and the token only ever goes to this address."""
        parts = urllib.parse.urlsplit(url)
        here = urllib.parse.urlsplit(self.url)
        path = parts.path if parts.path.startswith("/") else "/" + parts.path
        return urllib.parse.urlunsplit((here.scheme, here.netloc, path, parts.query, ""))

    def _request(self, method: str, path: str, data: bytes | None, headers: Mapping[str, str] | None):
        request = urllib.request.Request(self.absolute(path), data=data, method=method)
        request.add_header("User-Agent", USER_AGENT)
        request.add_header("Accept", "application/json")
        request.add_header("Accept-Language", self.language)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        if self.token:
            # Not carried along a redirect to another address.
            request.add_unredirected_header("Authorization", f"Token {self.token}")
        return request

    def request(
        self, method: str, path: str, *, json_body: Any = None, data: bytes | None = None,
        headers: Mapping[str, str] | None = None, timeout: float | None = None,
    ) -> Response:
        """One call; any HTTP status comes back as a Response."""
        headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        request = self._request(method, path, data, headers)
        try:
            with self.opener.open(request, timeout=timeout or self.timeout) as answer:
                body = read_at_most(answer, MAX_ANSWER_BYTES)
                if body is None:
                    raise too_large(answer.status)
                return Response(answer.status, answer.headers, body, request.full_url)
        except urllib.error.HTTPError as exc:
            return Response(exc.code, exc.headers, _error_body(exc), request.full_url)
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise NetworkError(
                _("Cannot reach {url}: {reason}").format(url=self.url, reason=_reason(exc))
            ) from None

    def call(
        self, method: str, path: str, *, json_body: Any = None, expect: tuple[int, ...] = (200,),
    ) -> Any:
        """One call whose answer must have one of the ``expect`` statuses:
        its JSON (None when empty), or ApiError."""
        response = self.request(method, path, json_body=json_body)
        if response.status not in expect:
            raise response.error()
        return response.json() if response.body else None

    def pages(self, path: str) -> Iterator[dict]:
        """The results of a paginated list, page after page."""
        url: str | None = path
        seen: set[str] = set()
        results = 0
        while url:
            address = self.absolute(url)
            if address in seen:
                raise ApiError(200, "bad_response", _("The server's list goes round in circles (it leads back to "
                                                      "{url}).").format(url=address))
            if len(seen) >= MAX_PAGES:
                raise ApiError(200, "bad_response", _("The server's list goes on past {n} pages: stopped.").format(
                    n=i18n.integer(MAX_PAGES)))
            seen.add(address)
            page = self.call("GET", url)
            items = page.get("results") if isinstance(page, dict) else None
            if not isinstance(page, dict) or not isinstance(items or [], list):
                raise ApiError(200, "bad_response", _("The server's answer is not the list expected."))
            results += len(items or [])
            if results > MAX_RESULTS:
                raise ApiError(200, "bad_response", _("The server's list goes on past {n} results: stopped.")
                               .format(n=i18n.integer(MAX_RESULTS)))
            yield from (item for item in items or [] if isinstance(item, dict))
            following = page.get("next")
            url = self.on_this_site(following) if isinstance(following, str) and following else None

    @contextmanager
    def stream(self, path: str, *, timeout: float | None = None) -> Iterator[http.client.HTTPResponse]:
        """A GET whose body is read in pieces (downloads); ApiError unless 200."""
        request = self._request("GET", path, None, {"Accept": "*/*"})
        try:
            answer = self.opener.open(request, timeout=timeout or self.timeout)
        except urllib.error.HTTPError as exc:
            raise Response(exc.code, exc.headers, _error_body(exc), request.full_url).error() from None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            raise NetworkError(
                _("Cannot reach {url}: {reason}").format(url=self.url, reason=_reason(exc))
            ) from None
        with answer:
            yield answer


def network_reason(exc: BaseException) -> str:
    return _reason(exc)
