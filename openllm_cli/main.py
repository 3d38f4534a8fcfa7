"""``openllm``: the commands, their options and their help (in English and
French), and what each does with the API.

Exit status: 0 done, 1 the server refused or failed (its message is
printed), or it could not be reached, or a download did not check out;
2 the command itself is wrong (options, files, metadata, no token);
130 interrupted."""

from __future__ import annotations

import argparse
import datetime
import errno
import getpass
import hashlib
import http.client
import os
import re
import secrets
import sys
import time
import urllib.parse
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from . import __version__, i18n
from .client import ApiError, Client, NetworkError, UsageError, base_url, network_reason
from .config import DEFAULT_URL, Config, ConfigError, UploadState, config_path, state_path
from .i18n import _, ngettext
from .output import (
    CORPUS_STATUS,
    JOB_STATUS,
    Progress,
    corpus_status_lines,
    json_text,
    status_label,
    table,
    terminal_safe,
)
from .tus import DEFAULT_CHUNK_SIZE, FileRejected, Uploader, collect

PROG = "openllm"
METADATA_KEYS = [
    "title", "description", "languages", "license", "source_url", "collection_method", "domain",
    "period_start", "period_end", "rights_attested", "web_collected", "tdm_respected",
    "may_contain_personal_data",
]
# The same in every language: YAML keys and values are the API's.
METADATA_EXAMPLE = """\
  title: Comptes rendus du conseil municipal
  description: Procès-verbaux publics, 2010-2020.
  languages: [fr]
  license: etalab-2.0
  domain: administrative
  source_url: https://example.org/conseil
  period_start: 2010
  period_end: 2020
  rights_attested: true
  may_contain_personal_data: true
"""
SPLITS = ["file", "blank_lines", "separator"]
FINISHED = ("done", "failed", "cancelled")


# ------------------------------------------------------------------ output
# Whatever is printed goes through output.terminal_safe: the server's words
# and files' names are shown, never acted on by the terminal.

def out(text: str = "") -> None:
    sys.stdout.write(terminal_safe(text) + "\n")
    sys.stdout.flush()


def err(text: str) -> None:
    sys.stderr.write(terminal_safe(text) + "\n")
    sys.stderr.flush()


def error_line(message: str) -> str:
    return _("{prog}: error: {message}").format(prog=PROG, message=message)


def print_api_error(exc: ApiError) -> None:
    message = exc.message
    if exc.field:
        message += " " + _("(field: {field})").format(field=exc.field)
    err(error_line(message))
    others = [e for e in exc.errors[1:] if isinstance(e, dict) and e.get("message")]
    for other in others:
        line = f"  - {other['message']}"
        if other.get("field"):
            line += " " + _("(field: {field})").format(field=other["field"])
        err(line)
    if exc.status == 401:
        err(_("Make a personal token on your profile page on the site, then run: {prog} login").format(prog=PROG))


def print_json(data: Any) -> None:
    out(json_text(data))


# ------------------------------------------------------------------ context

class Context:
    """The address, the token and the client, from the options, the
    environment and the configuration file."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.config = Config(config_path())
        given = getattr(args, "url", None) or os.environ.get("OPENLLM_URL") or self.config.url or DEFAULT_URL
        try:
            self.url = base_url(given)
        except ValueError:
            raise UsageError(_("“{url}” is not the address of a site (http:// or https://).").format(
                url=given)) from None

    def token(self) -> str | None:
        return os.environ.get("OPENLLM_TOKEN") or self.config.token_for(self.url)

    def client(self, token: str | None = None, *, required: bool = True) -> Client:
        token = token or self.token()
        if required and not token:
            raise UsageError(_("No token for {url}: run “{prog} login” (a personal token is made on your profile "
                               "page on the site), or set OPENLLM_TOKEN.").format(url=self.url, prog=PROG))
        return Client(self.url, token, i18n.current())

    def state(self) -> UploadState:
        return UploadState(state_path())


# ------------------------------------------------------------------ argument types

def _size_argument(value: str) -> int:
    match = re.fullmatch(r"\s*(\d+)\s*([kmg]?)(?:i?b)?\s*", value, re.IGNORECASE)
    if not match or int(match.group(1)) == 0:
        raise argparse.ArgumentTypeError(_("“{value}” is not a size such as 8M, 512K or 1048576.").format(
            value=value))
    factor = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}[match.group(2).lower()]
    return int(match.group(1)) * factor


def _corpus_argument(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise argparse.ArgumentTypeError(_("“{value}” is not a corpus id (a number).").format(value=value))
    return int(value)


def _year_argument(value: str) -> int:
    if not value.isascii() or not value.isdigit() or len(value) > 4:
        raise argparse.ArgumentTypeError(_("“{value}” is not a year.").format(value=value))
    return int(value)


def _seconds_argument(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise argparse.ArgumentTypeError(_("“{value}” is not a number of seconds.").format(value=value))
    return seconds


def _version_argument(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", value):
        raise argparse.ArgumentTypeError(_("“{value}” is not a release version (letters, digits, - and _).")
                                         .format(value=value))
    return value


# ------------------------------------------------------------------ commands: account

def cmd_login(context: Context, args: argparse.Namespace) -> int:
    token = args.token
    if not token:
        if sys.stdin.isatty():
            token = getpass.getpass(_("Token for {url}: ").format(url=context.url))
        else:
            token = sys.stdin.readline()
    token = (token or "").strip()
    if not token:
        raise UsageError(_("No token given."))
    me = context.client(token).call("GET", "me/")
    context.config.save_token(context.url, token)
    parts = urllib.parse.urlsplit(context.url)
    if parts.scheme == "http" and parts.hostname not in ("localhost", "127.0.0.1", "::1"):
        err(_("Warning: {url} is not HTTPS: the token travels unencrypted.").format(url=context.url))
    out(_("Signed in to {url} as {name} ({email}, {role}).").format(
        url=context.url, name=_who(me), email=me.get("email", "?"), role=_role(me.get("role"))))
    err(_("Token saved in {path}.").format(path=context.config.path))
    return 0


def _who(me: dict) -> str:
    return str(me.get("display_name") or me.get("pseudonym") or me.get("email") or "?")


def _role(role: object) -> str:
    labels = {"member": "member", "reviewer": "reviewer", "maintainer": "maintainer"}
    return status_label(role, labels)


def cmd_logout(context: Context, args: argparse.Namespace) -> int:
    if context.config.forget_token(context.url):
        out(_("Token for {url} forgotten.").format(url=context.url))
    else:
        out(_("No token was kept for {url}.").format(url=context.url))
    return 0


def cmd_whoami(context: Context, args: argparse.Namespace) -> int:
    me = context.client().call("GET", "me/")
    if args.json:
        print_json(me)
    else:
        out(_("{name} ({email}, {role}) on {url}").format(
            name=_who(me), email=me.get("email", "?"), role=_role(me.get("role")), url=context.url))
    return 0


# ------------------------------------------------------------------ commands: corpora

def load_metadata(path: str) -> dict[str, Any]:
    """A corpus's metadata from a YAML (or JSON) file, with the API's keys."""
    import yaml

    try:
        text = sys.stdin.read() if path == "-" else Path(path).expanduser().read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise UsageError(_("{path}: cannot be read ({reason}).").format(
            path=path, reason=getattr(exc, "strerror", None) or exc)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(_("{path}: not valid YAML: {problem}").format(
            path=path, problem=str(exc).replace("\n", " "))) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(_("{path}: the metadata must be a mapping of keys to values.").format(path=path))
    metadata: dict[str, Any] = {}
    for key, value in data.items():
        if key not in METADATA_KEYS:
            raise UsageError(_("{path}: unknown key “{key}” (the keys are: {keys}).").format(
                path=path, key=key, keys=", ".join(METADATA_KEYS)))
        if key == "languages" and isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, datetime.date):
            value = value.isoformat()
        metadata[key] = value
    return metadata


def metadata_from(args: argparse.Namespace) -> dict[str, Any]:
    metadata = load_metadata(args.metadata) if args.metadata else {}
    for key in METADATA_KEYS:
        value = getattr(args, key, None)
        if value is not None:
            metadata[key] = value
    return metadata


def upload_paths(context: Context, args: argparse.Namespace, corpus: int, paths: list[str]) -> int:
    """Upload the files of ``paths`` to ``corpus``: each file's outcome on
    its own line; 1 when one was refused."""
    files = collect(paths)
    uploader = Uploader(
        context.client(), corpus, state=context.state(), split=args.split, separator=args.separator,
        text_column=args.text_column, chunk_size=args.chunk_size, retries=args.retries,
        progress=not args.quiet,
    )
    added = refused = 0
    for item in files:
        try:
            file_id = uploader.upload(item)
        except FileRejected as exc:
            refused += 1
            err(error_line(exc.message))
            continue
        added += 1
        out(_("{name}: added (file {id}).").format(name=item.name, id=file_id))
    if len(files) > 1 or refused:
        err(ngettext("{n} file added", "{n} files added", added).format(n=i18n.integer(added)) + ", "
            + ngettext("{n} refused.", "{n} refused.", refused).format(n=i18n.integer(refused)))
    return 1 if refused else 0


def cmd_corpus_create(context: Context, args: argparse.Namespace) -> int:
    metadata = metadata_from(args)
    if args.paths:
        collect(args.paths)  # a wrong path stops us before the corpus is made
    client = context.client()
    corpus = client.call("POST", "corpora/", json_body=metadata, expect=(201,))
    if args.json:
        print_json(corpus)
    else:
        out(str(corpus["id"]))
        err(_("Corpus {id} created ({status}).").format(
            id=corpus["id"], status=status_label(corpus.get("status"), CORPUS_STATUS)))
    if args.paths:
        return upload_paths(context, args, int(corpus["id"]), args.paths)
    return 0


def cmd_corpus_show(context: Context, args: argparse.Namespace) -> int:
    corpus = context.client().call("GET", f"corpora/{args.corpus}/")
    if args.json:
        print_json(corpus)
        return 0
    out(f"{corpus.get('id')}: {corpus.get('title')}")
    rows = [
        (_("Status"), status_label(corpus.get("status"), CORPUS_STATUS)),
        (_("Version"), corpus.get("version")),
        (_("License"), corpus.get("license")),
        (_("Languages"), ", ".join(corpus.get("languages") or [])),
        (_("Domain"), corpus.get("domain")),
        (_("Documents"), _number(corpus.get("documents"))),
        (_("Words"), _number(corpus.get("words"))),
    ]
    width = max(len(label) for label, _value in rows)
    for label, value in rows:
        if value not in (None, ""):
            out(f"  {label.ljust(width)}  {value}")
    return 0


def _number(value: object) -> str | None:
    return i18n.integer(value) if isinstance(value, int) and not isinstance(value, bool) else None


def cmd_corpora(context: Context, args: argparse.Namespace) -> int:
    path = "corpora/"
    if args.status:
        path += "?" + urllib.parse.urlencode({"status": args.status})
    corpora = list(context.client().pages(path))
    if args.json:
        print_json(corpora)
        return 0
    if not corpora:
        err(_("No corpus yet: {prog} corpus create --help").format(prog=PROG))
        return 0
    rows = [
        [str(c.get("id")), status_label(c.get("status"), CORPUS_STATUS), _number(c.get("documents")) or "",
         _number(c.get("words")) or "", str(c.get("license") or ""), str(c.get("title") or "")]
        for c in corpora
    ]
    for line in table(rows, [_("ID"), _("STATUS"), _("DOCUMENTS"), _("WORDS"), _("LICENSE"), _("TITLE")]):
        out(line)
    return 0


def cmd_upload(context: Context, args: argparse.Namespace) -> int:
    return upload_paths(context, args, args.corpus, args.paths)


# ------------------------------------------------------------------ waiting

def wait_until(
    fetch: Callable[[], dict], finished: Callable[[dict], bool], describe: Callable[[dict], str],
    timeout: float, quiet: bool,
) -> dict:
    """Poll ``fetch`` until ``finished``; what it returns is shown on stderr
    when it changes (in place on a terminal)."""
    started = time.monotonic()
    delay = 1.0
    shown = ""
    tty = sys.stderr.isatty()
    while True:
        current = fetch()
        if finished(current):
            if tty and shown and not quiet:
                sys.stderr.write("\r\x1b[K")
                sys.stderr.flush()
            return current
        text = terminal_safe(describe(current), multiline=False)
        if not quiet and text != shown:
            if tty:
                sys.stderr.write("\r" + text + "\x1b[K")
                sys.stderr.flush()
            else:
                err(text)
            shown = text
        if timeout and time.monotonic() - started > timeout:
            if tty and shown:
                sys.stderr.write("\n")
            raise TimedOut(text)
        time.sleep(delay)
        delay = min(delay * 1.5, 5.0)


class TimedOut(Exception):
    pass


def _analysis_finished(status: dict) -> bool:
    analysis = status.get("analysis")
    return not isinstance(analysis, dict) or analysis.get("status") in FINISHED


def _analysis_progress(status: dict) -> str:
    analysis = status.get("analysis") or {}
    text = _("Analysis: {status}").format(status=status_label(analysis.get("status"), JOB_STATUS))
    if analysis.get("percent") is not None:
        text += f" ({i18n.percent(float(analysis['percent']))})"
    return text


def show_status(status: dict, args: argparse.Namespace) -> int:
    if args.json:
        print_json(status)
    else:
        for line in corpus_status_lines(status):
            out(line)
    analysis = status.get("analysis")
    if args.wait and isinstance(analysis, dict) and analysis.get("status") in ("failed", "cancelled"):
        return 1
    return 0


def _wait_for_analysis(context: Context, args: argparse.Namespace, corpus: int, first: dict) -> dict:
    client = context.client()
    pending = [first]

    def fetch() -> dict:
        return pending.pop() if pending else client.call("GET", f"corpora/{corpus}/status/")

    try:
        return wait_until(fetch, _analysis_finished, _analysis_progress, args.timeout, args.quiet)
    except TimedOut as exc:
        raise ApiError(0, "timeout", _("Still not finished after {seconds} s: {state}").format(
            seconds=i18n.integer(int(args.timeout)), state=str(exc))) from None


def cmd_submit(context: Context, args: argparse.Namespace) -> int:
    status = context.client().call("POST", f"corpora/{args.corpus}/submit/", expect=(202, 200))
    if not args.json:
        err(_("Corpus {id} submitted: its analysis is queued.").format(id=args.corpus))
    if args.wait:
        status = _wait_for_analysis(context, args, args.corpus, status)
    return show_status(status, args)


def cmd_status(context: Context, args: argparse.Namespace) -> int:
    status = context.client().call("GET", f"corpora/{args.corpus}/status/")
    if args.wait:
        status = _wait_for_analysis(context, args, args.corpus, status)
    return show_status(status, args)


# ------------------------------------------------------------------ commands: releases

def _release_path(version: str) -> str:
    return f"releases/{urllib.parse.quote(version, safe='')}/"


def release_lines(release: dict) -> list[str]:
    lines = [_("Release {version}: {status}").format(
        version=release.get("version"), status=status_label(release.get("status"), JOB_STATUS))]
    if release.get("status") == "failed" and release.get("error"):
        lines.append(_("Reason: {error}").format(error=release.get("error")))
    files = [f for f in release.get("files") or [] if isinstance(f, dict)]
    if files:
        total = sum(f.get("bytes") or 0 for f in files if isinstance(f.get("bytes"), int))
        lines.append(ngettext("{n} file, {size}", "{n} files, {size}", len(files)).format(
            n=i18n.integer(len(files)), size=i18n.size(total)))
        for item in files:
            lines.append(f"  {item.get('path')}  {i18n.size(item.get('bytes') or 0)}  sha256:{item.get('sha256')}")
    return lines


def _wait_for_release(context: Context, args: argparse.Namespace, version: str, first: dict) -> dict:
    client = context.client()
    pending = [first]

    def fetch() -> dict:
        return pending.pop() if pending else client.call("GET", _release_path(version))

    def describe(release: dict) -> str:
        return _("Release {version}: {status}").format(
            version=version, status=status_label(release.get("status"), JOB_STATUS))

    try:
        return wait_until(fetch, lambda r: r.get("status") in FINISHED, describe, args.timeout, args.quiet)
    except TimedOut as exc:
        raise ApiError(0, "timeout", _("Still not finished after {seconds} s: {state}").format(
            seconds=i18n.integer(int(args.timeout)), state=str(exc))) from None


def show_release(release: dict, args: argparse.Namespace) -> int:
    if args.json:
        print_json(release)
    else:
        for line in release_lines(release):
            out(line)
    return 1 if args.wait and release.get("status") in ("failed", "cancelled") else 0


def cmd_release_build(context: Context, args: argparse.Namespace) -> int:
    body = {
        "version": args.version, "licenses": args.licenses or [], "languages": args.languages or [],
        "domains": args.domains or [], "drop_flags": args.drop_flags or [], "public": bool(args.public),
        "corpora": args.corpora or [],
    }
    release = context.client().call("POST", "releases/", json_body=body, expect=(201, 202))
    if not args.json:
        err(_("Release {version} created: a worker builds it.").format(version=args.version))
    if args.wait:
        release = _wait_for_release(context, args, args.version, release)
    return show_release(release, args)


def cmd_release_status(context: Context, args: argparse.Namespace) -> int:
    release = context.client().call("GET", _release_path(args.version))
    if args.wait:
        release = _wait_for_release(context, args, args.version, release)
    return show_release(release, args)


def safe_target(root: Path, path: object) -> Path | None:
    """Where the release's file ``path`` goes under ``root``; None when the
    path would lead out of it (absolute, ``..``, a drive, a backslash)."""
    if not isinstance(path, str) or not path or "\\" in path or "\x00" in path:
        return None
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("", ".", "..") for part in path.split("/")):
        return None
    if re.match(r"^[A-Za-z]:", path):
        return None
    target = root.joinpath(*pure.parts)
    resolved_root = root.resolve()
    try:
        target.resolve().relative_to(resolved_root)
    except ValueError:
        return None
    return target


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


DOWNLOAD_BLOCK = 1024 * 1024


class _NotWritten(Exception):
    """The downloaded file could not be written here (our disk, not the
    server)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(error)
        self.error = error


def _not_written(path: str, error: OSError) -> str:
    return _("{path}: cannot be written ({reason}).").format(path=path, reason=error.strerror or error)


def _discard(partial: Path) -> None:
    try:
        partial.unlink(missing_ok=True)
    except OSError:
        pass


def _download_one(client: Client, version: str, item: dict, target: Path, quiet: bool) -> str | None:
    """Download one file to ``target`` and check it: None, or what went
    wrong (the server's answer, or our disk: a folder that cannot be made, a
    file that cannot be written), so that the other files go on. The body is
    streamed to disk by blocks, never past the size announced, and the file
    is written aside and renamed only once checked."""
    path, expected_sha, expected_bytes = item["path"], item["sha256"], item["bytes"]
    # A name no listed file can have: a release listing both "a.txt.part"
    # and "a.txt" must not write one over the other.
    partial = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
    try:
        if target.is_file() and target.stat().st_size == expected_bytes and _sha256_of(target) == expected_sha:
            err(_("{path}: already there, checked.").format(path=path))
            return None
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(target))
        handle = partial.open("wb")
    except OSError as exc:
        return _not_written(path, exc)
    digest = hashlib.sha256()
    received = 0
    progress = Progress(path, expected_bytes, enabled=not quiet)
    progress.start(0)
    url = _release_path(version) + "files/" + urllib.parse.quote(path, safe="/")
    problem = None
    try:
        with handle, client.stream(url, timeout=120) as answer:
            while True:
                # One byte past what is left tells a longer body.
                block = answer.read(min(DOWNLOAD_BLOCK, expected_bytes - received + 1))
                if not block:
                    break
                received += len(block)
                if received > expected_bytes:
                    # Longer than announced: wrong, whatever follows.
                    problem = _("{path}: the server sent more than the {expected} bytes announced.").format(
                        path=path, expected=i18n.integer(expected_bytes))
                    break
                digest.update(block)
                try:
                    handle.write(block)
                except OSError as exc:
                    raise _NotWritten(exc) from None
                progress.update(received)
    except _NotWritten as exc:
        problem = _not_written(path, exc.error)
    except ApiError as exc:
        problem = f"{path}: {exc.message}"
    except (OSError, ValueError, http.client.HTTPException) as exc:
        problem = _("{path}: the download broke off ({reason}).").format(path=path, reason=network_reason(exc))
    except BaseException:
        progress.abandon()
        _discard(partial)
        raise
    if problem is None and received != expected_bytes:
        problem = _("{path}: {received} bytes received, {expected} expected.").format(
            path=path, received=i18n.integer(received), expected=i18n.integer(expected_bytes))
    if problem is None and digest.hexdigest() != expected_sha:
        problem = _("{path}: the SHA-256 does not match (expected {expected}, received {received}).").format(
            path=path, expected=expected_sha, received=digest.hexdigest())
    if problem is None:
        try:
            os.replace(partial, target)
        except OSError as exc:
            problem = _not_written(path, exc)
    if problem is not None:
        progress.abandon()
        _discard(partial)
        return problem
    progress.finish()
    return None


def cmd_release_download(context: Context, args: argparse.Namespace) -> int:
    client = context.client()
    release = client.call("GET", _release_path(args.version))
    if release.get("status") != "done":
        raise ApiError(0, "not_built", _("Release {version} is not built ({status}).").format(
            version=args.version, status=status_label(release.get("status"), JOB_STATUS)))
    root = Path(args.to).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    files = release.get("files")
    if not isinstance(files, list):
        raise ApiError(0, "bad_response", _("The server's answer does not list the release's files."))
    failures: list[str] = []
    done = 0
    for item in files:
        valid = (
            isinstance(item, dict) and isinstance(item.get("sha256"), str)
            and re.fullmatch(r"[0-9a-f]{64}", item["sha256"]) is not None
            and isinstance(item.get("bytes"), int) and item["bytes"] >= 0
        )
        target = safe_target(root, item.get("path")) if isinstance(item, dict) else None
        if not valid or target is None:
            failures.append(_("{path}: refused: this path or its checksum is not valid.").format(
                path=item.get("path") if isinstance(item, dict) else item))
            continue
        problem = _download_one(client, args.version, item, target, args.quiet)
        if problem:
            failures.append(problem)
        else:
            done += 1
    for failure in failures:
        err(error_line(failure))
    out(ngettext("{n} file of release {version} in {folder}, checked.",
                 "{n} files of release {version} in {folder}, checked.", done).format(
        n=i18n.integer(done), version=args.version, folder=root))
    if failures:
        err(ngettext("{n} file failed.", "{n} files failed.", len(failures)).format(
            n=i18n.integer(len(failures))))
        return 1
    return 0


# ------------------------------------------------------------------ parser

class Formatter(argparse.HelpFormatter):
    """Descriptions and epilogs by paragraph: one written on one line is
    filled to the terminal's width, one of several lines (a list, an
    example) is kept as written."""

    def __init__(self, prog: str) -> None:
        super().__init__(prog, max_help_position=32)

    def start_section(self, heading: str | None) -> None:
        # argparse writes "heading:"; French typography wants "heading :".
        if heading and i18n.current() == "fr":
            heading += "\u00a0"
        super().start_section(heading)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        paragraphs = []
        for paragraph in text.split("\n\n"):
            if "\n" in paragraph:
                paragraphs.append("\n".join(indent + line for line in paragraph.split("\n")))
            else:
                paragraphs.append(super()._fill_text(paragraph, width, indent))
        return "\n\n".join(paragraphs)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--url", default=argparse.SUPPRESS, metavar="URL",
        help=_("address of the platform (default: OPENLLM_URL, then the configuration file, then {url})")
        .format(url=DEFAULT_URL),
    )
    common.add_argument(
        "--lang", choices=list(i18n.LANGUAGES), default=argparse.SUPPRESS,
        help=_("language of messages and help: en or fr (default: OPENLLM_LANG, then LC_ALL, LC_MESSAGES, LANG)"),
    )
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help=_("no progress bars or progress lines"))

    def new(parent: Any, name: str, summary: str, description: str | None = None,
            epilog: str | None = None) -> argparse.ArgumentParser:
        return parent.add_parser(
            name, help=summary, description=description or summary, epilog=epilog, parents=[common],
            formatter_class=Formatter, allow_abbrev=False,
        )

    parser = argparse.ArgumentParser(
        prog=PROG, parents=[common], formatter_class=Formatter, allow_abbrev=False,
        description=_("Command-line client of the OpenLLM Europe contribution platform: describe corpora, upload "
                      "their files (resumable uploads), submit them and follow their analysis; maintainers build "
                      "and download dataset releases."),
        epilog=_(
            "environment:\n"
            "  OPENLLM_URL     address of the platform\n"
            "  OPENLLM_TOKEN   personal token (else the one saved by “openllm login”)\n"
            "  OPENLLM_CONFIG  configuration file (default: ~/.config/openllm/config.json)\n"
            "  OPENLLM_STATE   uploads under way (default: ~/.cache/openllm/uploads.json)\n"
            "  OPENLLM_LANG    en or fr\n"
            "\n"
            "exit status: 0 done; 1 refused or failed by the server, unreachable server, file that does not "
            "check out; 2 wrong command, option or input file; 130 interrupted.\n"
            "\n"
            "Each command has its own help: openllm COMMAND --help"
        ),
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}",
                        help=_("show the version and exit"))
    commands = parser.add_subparsers(title=_("commands"), metavar=_("COMMAND"), dest="command")

    # login, logout, whoami
    login = new(commands, "login", _("check a personal token and save it for this address"),
                _("Check a personal token (made on your profile page on the site) and save it in the "
                  "configuration file (readable by you only), for this address. Without --token, the token is "
                  "read from standard input, or asked for on a terminal."))
    login.add_argument("--token", metavar="TOKEN", help=_("the token (visible to other users of this machine "
                                                          "in the list of processes: prefer standard input)"))
    login.set_defaults(handler=cmd_login)
    logout = new(commands, "logout", _("forget the token saved for this address"))
    logout.set_defaults(handler=cmd_logout)
    whoami = new(commands, "whoami", _("show whose token is in use"))
    whoami.add_argument("--json", action="store_true", help=_("print the server's JSON"))
    whoami.set_defaults(handler=cmd_whoami)

    # corpora
    corpora = new(commands, "corpora", _("list your corpora, newest first"))
    corpora.add_argument("--status", choices=list(CORPUS_STATUS), help=_("only the corpora in this status"))
    corpora.add_argument("--json", action="store_true", help=_("print the server's JSON"))
    corpora.set_defaults(handler=cmd_corpora)

    def upload_options(command: argparse.ArgumentParser) -> None:
        group = command.add_argument_group(_("upload options"))
        group.add_argument("--split", choices=SPLITS, default="file",
                           help=_("how plain text files are cut into documents: one per file (default), on blank "
                                  "lines, or on a separator line"))
        group.add_argument("--separator", default="", metavar=_("LINE"),
                           help=_("the separator line, with --split separator"))
        group.add_argument("--text-column", default="text", metavar=_("NAME"),
                           help=_("the column holding the text in CSV, TSV and Parquet files (default: text)"))
        group.add_argument("--chunk-size", type=_size_argument, default=DEFAULT_CHUNK_SIZE, metavar=_("SIZE"),
                           help=_("bytes sent per request, such as 8M (default) or 512K"))
        group.add_argument("--retries", type=int, default=5, metavar="N",
                           help=_("how many times a request is tried again after a network or server error "
                                  "(default: 5)"))

    corpus = new(commands, "corpus", _("create or show a corpus"))
    corpus_commands = corpus.add_subparsers(title=_("commands"), metavar=_("COMMAND"), dest="corpus_command")
    create = new(
        corpus_commands, "create", _("create a corpus (a draft), and upload its files"),
        _("Create a corpus from options, or from a YAML file with the same keys as the API (options given win "
          "over the file), and print its id. Files or folders named after the options are uploaded to it "
          "at once."),
        _("metadata file (YAML), for example:\n{example}\nkeys: {keys}\n\nexample:\n  {command}").format(
            example=METADATA_EXAMPLE, keys=", ".join(METADATA_KEYS),
            command="openllm corpus create --metadata corpus.yml ./texts/",
        ),
    )
    meta = create.add_argument_group(_("metadata"))
    meta.add_argument("--metadata", metavar=_("FILE"), help=_("YAML file of the metadata (- for standard input)"))
    meta.add_argument("--title", metavar=_("TEXT"), help=_("title"))
    meta.add_argument("--description", metavar=_("TEXT"), help=_("description: what the text is, where it comes from"))
    meta.add_argument("--language", dest="languages", action="append", metavar=_("CODE"),
                      help=_("language of the text, such as fr (repeat the option for several)"))
    meta.add_argument("--license", metavar=_("LICENSE"), help=_("license, by SPDX id, such as etalab-2.0 or CC-BY-4.0"))
    meta.add_argument("--domain", metavar=_("DOMAIN"),
                      help=_("domain, such as news, legal, administrative, literature"))
    meta.add_argument("--source-url", metavar="URL", help=_("where the text comes from"))
    meta.add_argument("--collection-method", metavar=_("TEXT"), help=_("how the text was collected"))
    meta.add_argument("--period-start", type=_year_argument, metavar=_("YEAR"), help=_("first year covered"))
    meta.add_argument("--period-end", type=_year_argument, metavar=_("YEAR"), help=_("last year covered"))
    for flag, text in [
        ("--rights-attested", _("you hold the rights to this text, or its license lets you share it")),
        ("--web-collected", _("the text was gathered from the web")),
        ("--tdm-respected", _("the sites' text and data mining opt-outs were respected")),
        ("--may-contain-personal-data", _("the text may contain personal data")),
    ]:
        meta.add_argument(flag, action=argparse.BooleanOptionalAction, default=None, help=text)
    create.add_argument("paths", nargs="*", metavar=_("PATH"), help=_("files or folders to upload to the new corpus"))
    upload_options(create)
    create.add_argument("--json", action="store_true", help=_("print the server's JSON of the corpus"))
    create.set_defaults(handler=cmd_corpus_create)
    show = new(corpus_commands, "show", _("show a corpus's metadata"))
    show.add_argument("corpus", type=_corpus_argument, metavar=_("CORPUS"), help=_("the corpus's id"))
    show.add_argument("--json", action="store_true", help=_("print the server's JSON"))
    show.set_defaults(handler=cmd_corpus_show)

    # upload
    upload = new(
        commands, "upload", _("upload files to a corpus (resumable)"),
        _("Upload files, or the files of folders (those of a supported type: {types}), to one of your corpora. "
          "An interrupted upload resumes where the server stopped when the same command runs again.")
        .format(types=" ".join([".txt", ".md", ".jsonl", ".csv", ".tsv", ".parquet", ".zip", ".tar.gz"])),
        _("example:\n  openllm upload 42 ./texts/ extra.jsonl --chunk-size 16M"),
    )
    upload.add_argument("corpus", type=_corpus_argument, metavar=_("CORPUS"), help=_("the corpus's id"))
    upload.add_argument("paths", nargs="+", metavar=_("PATH"), help=_("files or folders"))
    upload_options(upload)
    upload.set_defaults(handler=cmd_upload)

    # submit, status
    for name, summary, handler in [
        ("submit", _("submit a corpus for analysis and review"), cmd_submit),
        ("status", _("show a corpus's status and its analysis"), cmd_status),
    ]:
        command = new(commands, name, summary)
        command.add_argument("corpus", type=_corpus_argument, metavar=_("CORPUS"), help=_("the corpus's id"))
        command.add_argument("--wait", action="store_true",
                             help=_("wait until the analysis is done or failed, then print its report"))
        command.add_argument("--timeout", type=_seconds_argument, default=0, metavar=_("SECONDS"),
                             help=_("with --wait, give up after so many seconds (default: never)"))
        command.add_argument("--json", action="store_true", help=_("print the server's JSON"))
        command.set_defaults(handler=handler)

    # release
    release = new(commands, "release", _("build, follow and download dataset releases (maintainers)"))
    release_commands = release.add_subparsers(title=_("commands"), metavar=_("COMMAND"), dest="release_command")
    build = new(release_commands, "build", _("build a release from the corpora ready for training"),
                _("Build a release from the corpora ready for training, filtered by license, language, domain and "
                  "quality flag (each option can be repeated). A worker builds it: --wait follows it."),
                _("example:\n  openllm release build 2026-12 --license etalab-2.0 --license CC-BY-4.0 --language fr "
                  "--public --wait"))
    build.add_argument("version", type=_version_argument, metavar=_("VERSION"), help=_("the release's version, "
                                                                                        "such as 2026-12"))
    build.add_argument("--license", dest="licenses", action="append", metavar=_("LICENSE"),
                       help=_("keep the corpora under this license"))
    build.add_argument("--language", dest="languages", action="append", metavar=_("CODE"),
                       help=_("keep the documents in this language"))
    build.add_argument("--domain", dest="domains", action="append", metavar=_("DOMAIN"),
                       help=_("keep the corpora of this domain"))
    build.add_argument("--corpus", dest="corpora", action="append", type=_corpus_argument, metavar=_("CORPUS"),
                       help=_("only this corpus (its number), ready for a release; none: every one"))
    build.add_argument("--drop-flag", dest="drop_flags", action="append", metavar=_("FLAG"),
                       help=_("leave out the documents with this quality flag"))
    build.add_argument("--public", action="store_true", help=_("publish the release once built"))
    build.add_argument("--wait", action="store_true", help=_("wait until the build is done or failed"))
    build.add_argument("--timeout", type=_seconds_argument, default=0, metavar=_("SECONDS"),
                       help=_("with --wait, give up after so many seconds (default: never)"))
    build.add_argument("--json", action="store_true", help=_("print the server's JSON"))
    build.set_defaults(handler=cmd_release_build)
    rstatus = new(release_commands, "status", _("show a release's status and files"))
    rstatus.add_argument("version", type=_version_argument, metavar=_("VERSION"), help=_("the release's version"))
    rstatus.add_argument("--wait", action="store_true", help=_("wait until the build is done or failed"))
    rstatus.add_argument("--timeout", type=_seconds_argument, default=0, metavar=_("SECONDS"),
                         help=_("with --wait, give up after so many seconds (default: never)"))
    rstatus.add_argument("--json", action="store_true", help=_("print the server's JSON"))
    rstatus.set_defaults(handler=cmd_release_status)
    download = new(release_commands, "download", _("download a release's files and check them"),
                   _("Download every file of a built release into a folder, checking the size and SHA-256 of each "
                     "(a file is renamed into place only once checked; files already there and right are kept)."))
    download.add_argument("version", type=_version_argument, metavar=_("VERSION"), help=_("the release's version"))
    download.add_argument("--to", required=True, metavar=_("FOLDER"), help=_("the folder to write the files to"))
    download.set_defaults(handler=cmd_release_download)

    parser.set_defaults(_parsers={"corpus": corpus, "release": release})
    return parser


# ------------------------------------------------------------------ main

def _tidy_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _tidy_streams()
    i18n.activate(i18n.language_from(argv, os.environ))
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "quiet"):
        args.quiet = False
    handler = getattr(args, "handler", None)
    if handler is None:
        # A group without its command: its help.
        group = args._parsers.get(args.command) if args.command else None
        (group or parser).print_help(sys.stderr)
        return 2
    try:
        context = Context(args)
        return int(handler(context, args) or 0)
    except UsageError as exc:
        err(error_line(str(exc)))
        return 2
    except ConfigError as exc:
        err(error_line(_("{path}: not a configuration file this program can read (JSON).").format(path=exc)))
        return 2
    except ApiError as exc:
        print_api_error(exc)
        return 1
    except NetworkError as exc:
        err(error_line(exc.message))
        return 1
    except KeyboardInterrupt:
        err("")
        err(_("Interrupted. An upload resumes where it stopped when the same command runs again."))
        return 130
    except BrokenPipeError:
        # The reader of our output went away (| head): nothing more to say.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 1
    except OSError as exc:
        err(error_line(f"{getattr(exc, 'filename', None) or ''}: {exc.strerror or exc}".lstrip(": ")))
        return 1
    except Exception as exc:  # noqa: BLE001 - a message, never a traceback (OPENLLM_DEBUG=1 shows it)
        if os.environ.get("OPENLLM_DEBUG"):
            raise
        err(error_line(_("unexpected error ({kind}: {error}); OPENLLM_DEBUG=1 shows where.").format(
            kind=type(exc).__name__, error=exc)))
        return 1
