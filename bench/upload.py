"""Resumable uploads (tus 1.0, /api/v1/uploads/) through a real web server:
throughput, the cost of the final check, the server's memory, a resume.

    .venv/bin/python bench/upload.py                          # 500 MB, chunks of 8 MiB, both inputs
    .venv/bin/python bench/upload.py --size-mb 1000 --repeat 3
    .venv/bin/python bench/upload.py --size-mb 100 --input generated
    .venv/bin/python bench/upload.py --manpages /tmp/manpages-fr.jsonl   # already rendered (bench/manpages.py)
    .venv/bin/python bench/upload.py --tiny                   # seconds: does it still run?

Sets up a throw-away site (SQLite database, media and resumable folder
under a temporary folder; ``--pg`` a PostgreSQL server to make a database
on instead), with a member who accepted the agreement, a personal API token
and a corpus, all through the site's own functions. For each input it
serves the site with gunicorn (``--workers`` sync workers, 2 by default,
DEBUG off as in production), warms each worker with a few small uploads,
and, as a tus client of its own over http.client (a connection kept while
the server keeps it: a sync worker closes it after each answer), uploads a
JSONL file of ``--size-mb`` in chunks of ``--chunk-mb`` MiB, each with its
``Upload-Checksum`` (sha1): straight through (``--repeat`` times, the
median kept), then once more with the connection dropped in the middle of
the chunk that crosses half the file, resumed on a new connection after a
HEAD. Every upload starts after an ``os.sync()``, with no other upload's
bytes still on their way to the disk. The inputs: generated French text
(bench/corpusgen.py) and Debian's French man pages (manpages-fr, rendered
by bench/manpages.py, repeated to the size). Every stored file is checked
against the source by its sha256.

Prints one JSON line; per input (``inputs``) and over both:
``mb_per_s`` (the whole upload, from the creation to the last answer, the
final check included), ``chunk_mb_per_s`` (the PATCHes before the last),
``final_check_seconds`` (from the last byte of the last chunk sent to its
answer: the fsync, the content check, the sha256 and the copy into the
storage), ``resume_head_ms`` (a new connection and its HEAD after the
drop), ``resume_retries`` (chunks sent again after it: the worker that had
the dropped chunk may still hold the upload) and ``peak_rss_mb``, the
largest peak resident memory (VmHWM) of the gunicorn workers, next to
``server_peak_rss_warm_mb``, the same after the warming uploads of 200 kB;
``client_peak_rss_mb`` is this process's. For scale, on the same file and
disk: ``disk_mb_per_s`` (the file written in chunks, an fsync after each,
as the server does), ``loopback_mb_per_s`` (the same bytes through a bare
TCP connection on 127.0.0.1) and ``check_floor_seconds`` (the file's sha256
and a copy of it, what the final check cannot do without);
``ideal_seconds`` is the file at the speed of the slower of disk and
loopback plus the final check, and ``vs_ideal`` the upload's time over it.

Targets: the server's memory stays flat whatever the file's size (a chunk
is streamed to disk 1 MiB at a time, never held whole); the upload is not
slower than the disk and the network by more than the final check
(``vs_ideal`` near 1: the per-chunk sha1s on each side, the request and
the fsync of each chunk cost little next to its bytes); and the final
check stays well within gunicorn's 30 s timeout for the largest file
allowed (2 GiB). What it shows (bench/RESULTS.md, 2026-11-30, a noisy
2-core machine): the workers' peak RSS is 8 MB above its warm value, the
same for 100 MB, 500 MB and 1 GB and for chunks of 8 to 64 MiB; chunks go
at 70 to 200 MB/s against 100 to 300 MB/s for the disk alone, an upload
takes 1.05 to 2 times its ideal; the final check, 2 to 3 s for 500 MB, is
2 to 4 times the floor: the file is read twice (sha256, then the copy) and
copied into the storage 64 KiB at a time through Python rather than moved.

``--tiny``: 2 MB in chunks of 256 KiB, generated text only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import SHARED, emit, leave  # noqa: E402

FIGURES = (
    "size_mb", "chunk_mb_per_s", "final_check_seconds", "resume_head_ms", "disk_mb_per_s", "loopback_mb_per_s",
    "check_floor_seconds", "ideal_seconds", "client_peak_rss_mb", "server_peak_rss_warm_mb",
)
TUS = {"Tus-Resumable": "1.0.0"}
UPLOADS = "/api/v1/uploads/"
MB = 1_000_000
MIB = 1024 * 1024


# ---------------------------------------------------------------- the site


def site_environment(tmp: Path, database_url: str) -> dict[str, str]:
    """The environment of this process and of the server: the bench's own
    database, media, cache and resumable folder; production settings
    otherwise (DEBUG off, a secret key of its own)."""
    env = {name: value for name, value in os.environ.items() if name not in SHARED}
    env.pop("RESUMABLE_UPLOAD_DIR", None)
    env.pop("API_RATE_LIMITS", None)
    env.update(
        DJANGO_SETTINGS_MODULE="openllm_site.settings",
        PYTHONPATH=str(ROOT),
        DATABASE_URL=database_url,
        VAR_DIR=str(tmp / "var"),
        MEDIA_ROOT=str(tmp / "media"),
        STATIC_ROOT=str(tmp / "static"),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DEBUG="0",
        SECRET_KEY="bench-" + uuid.uuid4().hex,
        SECURE_HTTPS="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        LOG_LEVEL="WARNING",
    )
    return env


def prepare() -> tuple[str, int]:
    """A member who accepted the agreement, their token and a corpus:
    (the token's key, the corpus's id)."""
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from contributions import accounts, submissions, tokens
    from contributions.models import Role, User

    # No password: hashing one costs a second.
    member = User.objects.create_user("uploader@bench.invalid", None, role=Role.MEMBER)
    accounts.agreement_accept(user=member)
    _token, key = tokens.token_create(user=member, name="bench", days=30)
    corpus = submissions.corpus_create(
        submitter=member, title="Téléversement", description="A file sent in chunks.", languages=["fr"],
        license="etalab-2.0", domain="web", source_url="https://example.org/bench", rights_attested=True,
    )
    return key, corpus.pk


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [*([str(gunicorn)] if gunicorn.exists() else [sys.executable, "-m", "gunicorn"]),
               "openllm_site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
               "--chdir", str(ROOT), "--no-control-socket"]
    server = subprocess.Popen(command, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited: {log.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("OPTIONS", UPLOADS)
            if connection.getresponse().status == 204:
                connection.close()
                return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


def stop(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def workers_of(master: int) -> list[int]:
    """The processes whose parent is ``master``: gunicorn's workers."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command may hold spaces and parentheses: the fields follow the last ")".
        if int(stat.rsplit(")", 1)[1].split()[1]) == master:
            found.append(int(entry))
    return found


def memory_mb(pid: int, field: str) -> float:
    """VmHWM (peak) or VmRSS (now) of a process, in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def server_memory(master: int, field: str) -> float:
    return round(max((memory_mb(pid, field) for pid in workers_of(master)), default=0.0), 1)


# ---------------------------------------------------------------- the inputs


def generated_input(path: Path, size: int, seed: int = 1) -> str:
    """JSONL of generated French text, whole lines, just under ``size``
    bytes; returns its sha256."""
    import orjson

    from bench.corpusgen import documents

    digest, written = hashlib.sha256(), 0
    with path.open("wb") as out:
        for text in documents(size * 2, seed):
            line = orjson.dumps({"text": text, "source": "bench"}) + b"\n"
            if written + len(line) > size:
                break
            out.write(line)
            digest.update(line)
            written += len(line)
    return digest.hexdigest()


def manpages_input(path: Path, size: int, rendered: Path) -> str:
    """The rendered man pages repeated, whole lines, just under ``size``
    bytes; returns its sha256."""
    lines = rendered.read_bytes().splitlines(keepends=True)
    if not lines:
        raise SystemExit(f"{rendered}: no man page")
    digest, written = hashlib.sha256(), 0
    with path.open("wb") as out:
        while True:
            for line in lines:
                if written + len(line) > size:
                    return digest.hexdigest()
                out.write(line)
                digest.update(line)
                written += len(line)


# ---------------------------------------------------------------- for scale


def disk_speed(source: Path, target: Path, chunk: int) -> float:
    """MB/s of writing ``source`` to ``target`` in chunks, an fsync after
    each, as the server appends them."""
    buffer = bytearray(chunk)
    started = time.perf_counter()
    with source.open("rb", buffering=0) as reader, target.open("wb", buffering=0) as writer:
        while count := reader.readinto(buffer):
            writer.write(memoryview(buffer)[:count])
            os.fsync(writer.fileno())
    elapsed = time.perf_counter() - started
    size = target.stat().st_size
    target.unlink()
    return size / MB / elapsed


def check_floor(source: Path, target: Path) -> float:
    """Seconds of what the final check cannot avoid: the file's sha256 and
    a copy of it."""
    started = time.perf_counter()
    digest = hashlib.sha256()
    with source.open("rb") as handle:
        while data := handle.read(MIB):
            digest.update(data)
    shutil.copyfile(source, target)
    elapsed = time.perf_counter() - started
    target.unlink()
    return elapsed


def loopback_speed(source: Path, chunk: int) -> float:
    """MB/s of the file through a bare TCP connection on 127.0.0.1, read
    1 MiB at a time on the other side (as the server reads a body)."""
    listener = socket.create_server(("127.0.0.1", 0))
    received = [0]

    def sink() -> None:
        connection, _address = listener.accept()
        buffer = bytearray(MIB)
        with connection:
            while count := connection.recv_into(buffer):
                received[0] += count

    thread = threading.Thread(target=sink, daemon=True)
    thread.start()
    buffer = bytearray(chunk)
    started = time.perf_counter()
    with socket.create_connection(listener.getsockname()) as sender, source.open("rb", buffering=0) as reader:
        while count := reader.readinto(buffer):
            sender.sendall(memoryview(buffer)[:count])
        sender.shutdown(socket.SHUT_WR)
        thread.join()
    elapsed = time.perf_counter() - started
    listener.close()
    return received[0] / MB / elapsed


# ---------------------------------------------------------------- the client


class Client:
    """A tus client: one connection kept while the server keeps it (a sync
    gunicorn worker closes it after each answer: then a new one)."""

    def __init__(self, port: int, key: str, log: Path) -> None:
        self.port, self.log = port, log
        self.headers = {**TUS, "Authorization": f"Token {key}"}
        self.connection: http.client.HTTPConnection | None = None
        self.connections = self.requests = 0

    def connect(self) -> http.client.HTTPConnection:
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
            self.connections += 1
        self.requests += 1
        return self.connection

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None

    def answer(self, expected: int) -> http.client.HTTPResponse:
        assert self.connection is not None
        response = self.connection.getresponse()
        body = response.read()
        if response.will_close:
            self.close()
        if response.status != expected:
            raise SystemExit(f"expected {expected}, got {response.status}: {body[:2000]!r}\n"
                             f"server log: {self.log.read_text()[-3000:]}")
        return response

    def create(self, name: str, length: int, corpus: int) -> str:
        metadata = ",".join(f"{k} {base64.b64encode(str(v).encode()).decode()}"
                            for k, v in (("filename", name), ("corpus", corpus)))
        self.connect().request("POST", UPLOADS, headers={
            **self.headers, "Upload-Length": str(length), "Upload-Metadata": metadata, "Content-Length": "0"})
        return urlsplit(self.answer(201).headers["Location"]).path

    def head(self, url: str) -> int:
        self.connect().request("HEAD", url, headers=self.headers)
        return int(self.answer(200).headers["Upload-Offset"])

    def patch(self, url: str, offset: int, data: memoryview, *, send: int | None = None) -> tuple[
            http.client.HTTPResponse | None, float]:
        """PATCH ``data`` at ``offset``: the answer and the seconds from the
        last byte sent to the answer. With ``send``, only that many bytes
        go before the connection is dropped (no answer). Raises Interrupted
        when the connection breaks or the upload is locked."""
        checksum = "sha1 " + base64.b64encode(hashlib.sha1(data).digest()).decode()
        connection = self.connect()
        try:
            connection.putrequest("PATCH", url, skip_accept_encoding=True)
            for name, value in {**self.headers, "Content-Type": "application/offset+octet-stream",
                                "Content-Length": str(len(data)), "Upload-Offset": str(offset),
                                "Upload-Checksum": checksum}.items():
                connection.putheader(name, value)
            connection.endheaders()
            if send is not None:
                connection.send(data[:send])
                self.close()
                return None, 0.0
            connection.send(data)
            sent = time.perf_counter()
            response = connection.getresponse()
            body = response.read()
        except (OSError, http.client.HTTPException) as exc:
            # A server that refuses a chunk before reading it (423, 409)
            # answers and closes: a chunk larger than the socket buffers
            # then meets a reset, and its answer is lost.
            self.close()
            raise Interrupted(type(exc).__name__) from None
        waited = time.perf_counter() - sent
        if response.will_close:
            self.close()
        if response.status == 423:
            raise Interrupted("423")
        if response.status != 204:
            raise SystemExit(f"PATCH at {offset}: {response.status} {body[:2000]!r}\n"
                             f"server log: {self.log.read_text()[-3000:]}")
        return response, waited


class Interrupted(Exception):
    """The chunk did not go: ask the server where the upload is and go on."""


def upload(client: Client, source: Path, corpus: int, chunk: int, *, drop: bool = False) -> dict:
    """One upload of ``source``; with ``drop``, the connection drops in the
    middle of the chunk that crosses half the file and the upload resumes
    after a HEAD on a new connection."""
    size = source.stat().st_size
    buffer = bytearray(chunk)
    figures: dict = {"retries": 0}
    chunk_seconds = chunk_bytes = 0.0
    waits = []
    started = time.perf_counter()
    url = client.create(source.name, size, corpus)
    offset, response = 0, None
    with source.open("rb", buffering=0) as reader:
        while offset < size:
            reader.seek(offset)
            count = reader.readinto(buffer)
            data = memoryview(buffer)[:count]
            if drop and offset + count > size // 2 >= offset:
                drop = False
                client.patch(url, offset, data, send=count // 2)
                began = time.perf_counter()
                resumed_at = client.head(url)
                figures["resume_head_ms"] = round(1000 * (time.perf_counter() - began), 2)
                figures["dropped_at"], figures["resumed_at"] = offset + count // 2, resumed_at
                if resumed_at != offset:
                    # A checksummed chunk is all or nothing.
                    raise SystemExit(f"resumed at {resumed_at}, expected {offset}")
                continue
            began = time.perf_counter()
            try:
                response, waited = client.patch(url, offset, data)
            except Interrupted as exc:
                # E.g. the worker that had the dropped chunk still holds the
                # upload (423) when the next chunk comes.
                figures["retries"] += 1
                if figures["retries"] > 200:
                    raise SystemExit(f"PATCH at {offset}: interrupted 200 times, last by {exc}") from None
                time.sleep(0.02)
                offset = client.head(url)
                continue
            offset += count
            if offset < size:
                chunk_seconds += time.perf_counter() - began
                chunk_bytes += count
                waits.append(waited)
            else:
                figures["final_check_seconds"] = round(waited, 4)
    seconds = time.perf_counter() - started
    assert response is not None
    if int(response.headers["Upload-Offset"]) != size or not response.headers.get("Corpus-File"):
        raise SystemExit(f"the last chunk made no corpus file: {dict(response.headers)}")
    figures.update(
        corpus_file=int(response.headers["Corpus-File"]), seconds=round(seconds, 3),
        mb_per_s=round(size / MB / seconds, 2),
        chunk_mb_per_s=round(chunk_bytes / MB / chunk_seconds, 2) if chunk_seconds else 0.0,
        chunk_mb=chunk_bytes / MB, chunk_seconds=chunk_seconds,
        chunk_wait_ms_p50=round(1000 * statistics.median(waits), 2) if waits else 0.0,
    )
    return figures


# ---------------------------------------------------------------- main


def postgres(server: str) -> tuple[str, str]:
    from bench.web import postgres_database

    database = postgres_database(server)
    if database is None:
        raise SystemExit(f"--pg: {server} cannot be reached")
    return database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=500, help="of each uploaded file (MB)")
    parser.add_argument("--chunk-mb", type=float, default=8, help="of each PATCH (MiB)")
    parser.add_argument("--input", choices=["both", "generated", "manpages"], default="both")
    parser.add_argument("--manpages", type=Path,
                        help="French man pages already rendered to JSONL by bench/manpages.py (default: "
                             "rendered now from /usr/share/man/fr, which takes a minute)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--repeat", type=int, default=1,
                        help="straight uploads of each input; the figures are the median one's (by time)")
    parser.add_argument("--pg", default="", help="a PostgreSQL server to make the database on, e.g. "
                        "postgresql://postgres@127.0.0.1:5432 (default: SQLite)")
    parser.add_argument("--tiny", action="store_true", help="2 MB in chunks of 256 KiB, generated text only")
    args = parser.parse_args()
    if args.tiny:
        args.size_mb, args.chunk_mb, args.input = 2, 0.25, "generated"
    size, chunk = int(args.size_mb * MB), int(args.chunk_mb * MIB)
    inputs = ["generated", "manpages"] if args.input == "both" else [args.input]

    tmp = Path(tempfile.mkdtemp(prefix="bench-upload-"))
    database = None
    server = None
    try:
        if args.pg:
            database = postgres(args.pg)
        env = site_environment(tmp, database[0] if database else f"sqlite:///{tmp / 'db.sqlite3'}")
        (tmp / "static").mkdir()
        os.environ.clear()
        os.environ.update(env)
        import django

        django.setup()
        from django.db import connection

        from contributions.models import CorpusFile

        key, corpus = prepare()
        connection.close()
        log = tmp / "gunicorn.log"
        results: dict[str, dict] = {}
        scale: dict = {}
        for name in inputs:
            source = tmp / f"{name}.jsonl"
            began = time.perf_counter()
            if name == "generated":
                sha256 = generated_input(source, size)
            else:
                rendered = args.manpages
                if rendered is None:
                    from bench import manpages

                    rendered = tmp / "manpages-fr.jsonl"
                    manpages.write_jsonl(rendered)
                sha256 = manpages_input(source, size, rendered)
            sys.stderr.write(f"{name}: {source.stat().st_size / MB:.1f} MB made in "
                             f"{time.perf_counter() - began:.1f} s\n")
            os.sync()
            if not scale:
                # The same for any content: measured once, on the first file.
                scale = {
                    "disk_mb_per_s": round(disk_speed(source, tmp / "disk-test", chunk), 1),
                    "loopback_mb_per_s": round(loopback_speed(source, chunk), 1),
                    "check_floor_seconds": round(check_floor(source, tmp / "copy-test"), 3),
                }
                sys.stderr.write(f"for scale: {scale}\n")

            port = free_port()
            server = serve(env, port, args.workers, log)
            client = Client(port, key, log)
            # Unmeasured: small uploads, so that each worker has imported
            # and opened what a chunk and a final check need.
            warm = tmp / "warm.jsonl"
            generated_input(warm, 200_000, seed=2)
            for _ in range(3 * args.workers):
                upload(client, warm, corpus, 64 * 1024)
            warm.unlink()
            client.connections = client.requests = 0
            warm_peak = server_memory(server.pid, "VmHWM")
            runs = []
            for _ in range(args.repeat):
                # Each from a clean page cache: no other upload's bytes
                # still on their way to the disk.
                os.sync()
                runs.append(upload(client, source, corpus, chunk))
            os.sync()
            resumed = upload(client, source, corpus, chunk, drop=True)
            straight = sorted(runs, key=lambda run: run["seconds"])[len(runs) // 2]
            peak = server_memory(server.pid, "VmHWM")
            stop(server)
            server = None
            for figures in (*runs, resumed):
                stored = CorpusFile.objects.get(pk=figures["corpus_file"])
                if stored.sha256 != sha256 or stored.size != source.stat().st_size:
                    raise SystemExit(f"{name}: the stored file differs from the source")
                stored.file.delete(save=False)
            connection.close()
            results[name] = {
                "size_mb": round(source.stat().st_size / MB, 1), **straight,
                "resume_head_ms": resumed["resume_head_ms"], "resume_retries": resumed["retries"],
                "resumed_mb_per_s": resumed["mb_per_s"],
                "resumed_final_check_seconds": resumed["final_check_seconds"],
                "server_peak_rss_warm_mb": warm_peak, "peak_rss_mb": peak,
                **({"runs_mb_per_s": [run["mb_per_s"] for run in runs]} if len(runs) > 1 else {}),
                "requests": client.requests, "connections": client.connections,
            }
            source.unlink()
            sys.stderr.write(f"{name}: {results[name]}\n")

        every = list(results.values())
        chunk_mb, chunk_seconds = sum(r.pop("chunk_mb") for r in every), sum(r.pop("chunk_seconds") for r in every)
        seconds = sum(r["seconds"] for r in every)
        megabytes = sum(r["size_mb"] for r in every)
        final = max(r["final_check_seconds"] for r in every)
        slower = min(scale["disk_mb_per_s"], scale["loopback_mb_per_s"])
        ideal = {name: r["size_mb"] / slower + r["final_check_seconds"] for name, r in results.items()}
        for name, r in results.items():
            r["vs_ideal"] = round(r["seconds"] / ideal[name], 2)
        emit({
            "inputs": results,
            "size_mb": round(megabytes / len(every), 1),
            "chunk_mib": args.chunk_mb,
            "workers": args.workers,
            "database": connection.vendor,
            "seconds": round(seconds, 3),
            "mb_per_s": round(megabytes / seconds, 2),
            "chunk_mb_per_s": round(chunk_mb / chunk_seconds, 2),
            "final_check_seconds": final,
            "resume_head_ms": max(r["resume_head_ms"] for r in every),
            **scale,
            "ideal_seconds": round(sum(ideal.values()), 3),
            "vs_ideal": round(seconds / sum(ideal.values()), 2),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in every),
            "server_peak_rss_warm_mb": max(r["server_peak_rss_warm_mb"] for r in every),
            "client_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        })
    finally:
        if server is not None:
            stop(server)
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up yet
            pass
        if database:
            from bench.web import postgres_drop

            postgres_drop(args.pg, database[1])
        shutil.rmtree(tmp, ignore_errors=True)
    leave()


if __name__ == "__main__":
    main()
