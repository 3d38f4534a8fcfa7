"""Resumable uploads with the tus 1.0 protocol (creation, termination,
checksum, expiration), by our own requests and by a tus client that is not
ours (tuspy), on the test server and on a web server process that restarts."""

from __future__ import annotations

import base64
import datetime
import fcntl
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone
from tusclient import client as tus_client

from contributions import resumable, tokens
from contributions.models import CorpusFile, CorpusStatus, ResumableUpload

from .conftest import ROOT, child_env
from .corpora import FRENCH, make_corpus

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
TEXT = ("\n\n".join(FRENCH * 40)).encode()  # about 24 KB of French


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path) -> Path:
    settings.RESUMABLE_UPLOAD_DIR = tmp_path / "resumable"
    return settings.RESUMABLE_UPLOAD_DIR


def key_of(user) -> str:
    return tokens.token_create(user=user, name="tus", days=30)[1]


def client_of(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {key_of(user)}", **TUS)


def metadata(**values) -> str:
    return ",".join(f"{k} {base64.b64encode(str(v).encode()).decode()}" for k, v in values.items())


def create(client: Client, corpus, name: str = "lettres.txt", length: int = len(TEXT), **extra) -> str:
    response = client.post(
        "/api/v1/uploads/", HTTP_UPLOAD_LENGTH=str(length),
        HTTP_UPLOAD_METADATA=metadata(filename=name, corpus=corpus.pk, **extra),
    )
    assert response.status_code == 201, response.content
    return urlsplit(response["Location"]).path


def patch(client: Client, url: str, offset: int, data: bytes, **headers):
    return client.generic(
        "PATCH", url, data, content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET=str(offset), **headers
    )


def sha1(data: bytes) -> str:
    return "sha1 " + base64.b64encode(hashlib.sha1(data).digest()).decode()


@pytest.mark.django_db
def test_options_tell_what_the_server_supports_to_anyone():
    response = Client().options("/api/v1/uploads/")
    assert response.status_code == 204
    assert response["Tus-Version"] == "1.0.0"
    assert set(response["Tus-Extension"].split(",")) == {"creation", "termination", "checksum", "expiration"}
    assert "sha1" in response["Tus-Checksum-Algorithm"].split(",")
    assert int(response["Tus-Max-Size"]) == 2 * 1024**3


@pytest.mark.django_db
def test_chunks_make_the_corpus_file_with_the_same_bytes(member, upload_dir):
    corpus = make_corpus(member)
    client = client_of(member)
    url = create(client, corpus)
    assert client.head(url)["Upload-Offset"] == "0"
    assert "Upload-Expires" in client.head(url)
    first, rest = TEXT[:10_000], TEXT[10_000:]
    response = patch(client, url, 0, first, HTTP_UPLOAD_CHECKSUM=sha1(first))
    assert response.status_code == 204 and response["Upload-Offset"] == "10000"
    assert response["Tus-Resumable"] == "1.0.0"
    response = patch(client, url, 10_000, rest, HTTP_UPLOAD_CHECKSUM=sha1(rest))
    assert response.status_code == 204, response.content
    stored = CorpusFile.objects.get(corpus=corpus)
    assert response["Corpus-File"] == str(stored.pk)
    assert stored.original_name == "lettres.txt" and stored.size == len(TEXT)
    assert stored.sha256 == hashlib.sha256(TEXT).hexdigest()
    assert stored.file.read() == TEXT
    assert list(upload_dir.iterdir()) == []  # the chunks' file is gone once the file is stored
    # A client that lost the answer to its last chunk learns the upload is whole.
    head = client.head(url)
    assert head["Upload-Offset"] == str(len(TEXT)) and head["Corpus-File"] == str(stored.pk)


@pytest.mark.django_db
def test_a_chunk_sent_twice_is_refused_with_the_real_offset(member):
    client = client_of(member)
    url = create(client, make_corpus(member))
    assert patch(client, url, 0, TEXT[:100]).status_code == 204
    again = patch(client, url, 0, TEXT[:100])
    assert again.status_code == 409
    assert again["Upload-Offset"] == "100"
    assert again.json()["code"] == "offset_mismatch"
    assert patch(client, url, 100, TEXT[100:]).status_code == 204


@pytest.mark.django_db
def test_a_wrong_checksum_keeps_nothing_of_the_chunk(member, upload_dir):
    client = client_of(member)
    url = create(client, make_corpus(member))
    assert patch(client, url, 0, TEXT[:100]).status_code == 204
    response = patch(client, url, 100, TEXT[100:200], HTTP_UPLOAD_CHECKSUM=sha1(b"something else"))
    assert response.status_code == 460
    assert response.json()["code"] == "checksum_mismatch"
    assert client.head(url)["Upload-Offset"] == "100"
    (data,) = upload_dir.iterdir()
    assert data.read_bytes() == TEXT[:100]
    unknown = patch(client, url, 100, TEXT[100:200], HTTP_UPLOAD_CHECKSUM="crc32 AAAA")
    assert unknown.status_code == 400 and unknown.json()["field"] == "Upload-Checksum"
    assert patch(client, url, 100, TEXT[100:], HTTP_UPLOAD_CHECKSUM=sha1(TEXT[100:])).status_code == 204


@pytest.mark.django_db
def test_termination_deletes_the_upload_and_its_bytes(member, upload_dir):
    client = client_of(member)
    url = create(client, make_corpus(member))
    patch(client, url, 0, TEXT[:100])
    assert client.delete(url).status_code == 204
    assert client.head(url).status_code == 404
    assert list(upload_dir.iterdir()) == []
    assert not ResumableUpload.objects.exists()


@pytest.mark.django_db
def test_a_refused_file_says_why_and_leaves_nothing(member, upload_dir):
    corpus = make_corpus(member)
    client = client_of(member)
    binary = bytes(range(256)) * 10
    url = create(client, corpus, name="notes.txt", length=len(binary))
    response = patch(client, url, 0, binary)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "file_rejected" and "notes.txt" in body["message"]
    assert not corpus.files.exists()
    assert not ResumableUpload.objects.exists()
    assert list(upload_dir.iterdir()) == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({"HTTP_TUS_RESUMABLE": "0.2.2"}, 412, "tus_version"),
        ({"HTTP_UPLOAD_LENGTH": str(3 * 1024**3)}, 413, "too_large"),
        ({"HTTP_UPLOAD_LENGTH": "-5"}, 400, "invalid"),
        ({"HTTP_UPLOAD_LENGTH": "1e9"}, 400, "invalid"),
        ({"HTTP_UPLOAD_METADATA": "filename !!!notbase64"}, 400, "invalid"),
        ({"HTTP_UPLOAD_METADATA": metadata(filename="a.exe", corpus="{corpus}")}, 400, "invalid"),
        ({"HTTP_UPLOAD_METADATA": metadata(corpus="{corpus}")}, 400, "required"),
        ({"HTTP_UPLOAD_METADATA": metadata(filename="a.txt", corpus="x")}, 400, "required"),
        ({"HTTP_UPLOAD_METADATA": metadata(filename="a.txt", corpus="{corpus}", split="separator")}, 400, "invalid"),
        ({"HTTP_UPLOAD_METADATA": metadata(filename="a.txt", corpus="{corpus}", split="lines")}, 400, "invalid_choice"),
        ({"HTTP_UPLOAD_METADATA": metadata(filename="a.txt", corpus="{corpus}", separator="-" * 101)}, 400,
         "max_length"),
        ({"HTTP_UPLOAD_METADATA": metadata(filename="a.csv", corpus="{corpus}", text_column="t" * 101)}, 400,
         "max_length"),
    ],
)
def test_bad_creation_requests_get_a_4xx_naming_the_problem(member, headers, status, code):
    corpus = make_corpus(member)
    request = {"HTTP_UPLOAD_LENGTH": "10", "HTTP_UPLOAD_METADATA": metadata(filename="a.txt", corpus=corpus.pk)}
    request.update({k: v.replace(base64.b64encode(b"{corpus}").decode(), base64.b64encode(
        str(corpus.pk).encode()).decode()) for k, v in headers.items()})
    response = client_of(member).post("/api/v1/uploads/", **request)
    assert response.status_code == status, response.content
    body = response.json()
    assert body["code"] == code and body["message"]
    assert not ResumableUpload.objects.exists()


@pytest.mark.django_db
def test_uploads_of_others_do_not_exist(member, other_member):
    corpus = make_corpus(member)
    stranger = client_of(other_member)
    response = stranger.post(
        "/api/v1/uploads/", HTTP_UPLOAD_LENGTH="10", HTTP_UPLOAD_METADATA=metadata(filename="a.txt", corpus=corpus.pk)
    )
    assert response.status_code == 404
    url = create(client_of(member), corpus)
    assert stranger.head(url).status_code == 404
    assert patch(stranger, url, 0, b"x").status_code == 404
    assert stranger.delete(url).status_code == 404
    assert Client(**TUS).head(url).status_code == 401


@pytest.mark.django_db
def test_a_reviewed_corpus_takes_no_upload(member):
    corpus = make_corpus(member)
    corpus.status = CorpusStatus.APPROVED
    corpus.save(update_fields=["status"])
    response = client_of(member).post(
        "/api/v1/uploads/", HTTP_UPLOAD_LENGTH="10", HTTP_UPLOAD_METADATA=metadata(filename="a.txt", corpus=corpus.pk)
    )
    assert response.status_code == 400


@pytest.mark.django_db
def test_a_chunk_while_another_is_being_written_is_told_to_wait(member, upload_dir):
    client = client_of(member)
    url = create(client, make_corpus(member))
    (data,) = upload_dir.iterdir()
    with data.open("r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        response = patch(client, url, 0, TEXT[:10])
    assert response.status_code == 423
    assert client.head(url)["Upload-Offset"] == "0"


@pytest.mark.django_db
def test_a_chunk_past_the_length_or_of_another_type_is_refused(member):
    client = client_of(member)
    url = create(client, make_corpus(member), length=10)
    assert patch(client, url, 0, b"x" * 11).status_code == 400
    wrong_type = client.generic("PATCH", url, b"abc", content_type="text/plain", HTTP_UPLOAD_OFFSET="0")
    assert wrong_type.status_code == 415
    assert client.head(url)["Upload-Offset"] == "0"


@pytest.mark.django_db
def test_cleanup_deletes_abandoned_uploads_and_stray_files(member, upload_dir):
    client = client_of(member)
    corpus = make_corpus(member)
    old, recent = create(client, corpus), create(client, corpus)
    patch(client, old, 0, TEXT[:100])
    ResumableUpload.objects.filter(key=old.rstrip("/").rsplit("/", 1)[1]).update(
        updated_at=timezone.now() - datetime.timedelta(hours=25)
    )
    stray = upload_dir / "0123456789abcdef0123456789abcdef"
    stray.write_bytes(b"left by a crash")
    os.utime(stray, (time.time() - 7200, time.time() - 7200))
    assert resumable.uploads_cleanup() == 1
    assert client.head(old).status_code == 404
    assert client.head(recent).status_code == 200
    assert sorted(p.name for p in upload_dir.iterdir()) == [recent.rsplit("/", 1)[1]]


@pytest.mark.django_db
def test_a_dropped_connection_keeps_the_bytes_that_arrived(member, live_server, upload_dir):
    """The client says 20,000 bytes and hangs up after 12,000: the server
    keeps those, and the client resumes from there."""
    key = key_of(member)
    corpus = make_corpus(member)
    client = Client(HTTP_AUTHORIZATION=f"Token {key}", **TUS)
    url = create(client, corpus)
    host, port = urlsplit(live_server.url).hostname, urlsplit(live_server.url).port
    with socket.create_connection((host, port)) as sock:
        sock.sendall(
            f"PATCH {url} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Token {key}\r\nTus-Resumable: 1.0.0\r\n"
            f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: 20000\r\n\r\n"
            .encode() + TEXT[:12_000]
        )
        sock.shutdown(socket.SHUT_WR)
        sock.recv(1000)
    deadline = time.monotonic() + 10
    while client.head(url)["Upload-Offset"] != "12000" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.head(url)["Upload-Offset"] == "12000"
    assert patch(client, url, 12_000, TEXT[12_000:]).status_code == 204
    assert corpus.files.get().file.read() == TEXT


@pytest.mark.django_db(transaction=True)
def test_tuspy_uploads_and_resumes_across_a_restarted_web_server(member, tmp_path, upload_dir, monkeypatch):
    """Any tus client: tuspy sends half the chunks, the web server is killed
    and started again, and a new tuspy uploader resumes from the server's
    offset; the chunks before it are not sent again."""
    corpus = make_corpus(member)
    key = key_of(member)
    big = TEXT * 8  # about 190 KB, in chunks of 16 KiB
    path = tmp_path / "lettres.txt"
    path.write_bytes(big)
    import tusclient.request

    sent = []
    real_patch = tusclient.request.requests.patch

    def counted(url, data, **kwargs):
        sent.append(len(data))
        return real_patch(url, data=data, **kwargs)

    monkeypatch.setattr(tusclient.request.requests, "patch", counted)
    server = WebServer(tmp_path, upload_dir)
    server.start()
    try:
        client = tus_client.TusClient(f"{server.url}/api/v1/uploads/", headers={"Authorization": f"Token {key}"})
        meta = {"filename": "lettres.txt", "corpus": str(corpus.pk)}
        first = client.uploader(str(path), chunk_size=16 * 1024, metadata=meta, upload_checksum=True)
        first.upload(stop_at=5 * 16 * 1024)
        assert first.offset == 5 * 16 * 1024
        server.kill()
        server.start()
        resumed = client.uploader(str(path), url=first.url, chunk_size=16 * 1024, upload_checksum=True)
        assert resumed.offset == 5 * 16 * 1024  # asked the new server process
        resumed.upload()
    finally:
        server.kill()
    stored = CorpusFile.objects.get(corpus=corpus)
    assert stored.sha256 == hashlib.sha256(big).hexdigest()
    # Each byte was sent once.
    assert sum(sent) == len(big)


class WebServer:
    """The site in a gunicorn process of its own, on the test database."""

    def __init__(self, tmp_path: Path, upload_dir: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp_path / "web.log"
        self.env = child_env(RESUMABLE_UPLOAD_DIR=str(upload_dir), DEBUG="true")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "openllm_site.wsgi", "-b", f"127.0.0.1:{self.port}", "-w", "1",
             "--access-logfile", "-", "--no-control-socket"],
            cwd=ROOT, env=self.env, stdout=self.log.open("a"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start:\n{self.log.read_text()[-3000:]}") from None
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL to the master and its worker: no clean shutdown."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        # The worker's socket closes a moment after its master is gone.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
            except OSError:
                return
            time.sleep(0.05)


@pytest.mark.django_db
def test_a_crash_while_checking_the_whole_file_leaves_the_last_chunk_to_send_again(member, monkeypatch):
    """The offset reaches the end only with the file stored: a client that
    finds the upload short sends its last chunk again and gets one file."""
    from contributions import submissions

    corpus = make_corpus(member)
    client = client_of(member)
    url = create(client, corpus)
    assert patch(client, url, 0, TEXT[:10_000]).status_code == 204

    def dies(**kwargs):
        raise SystemExit("the web process is killed")

    monkeypatch.setattr(submissions, "corpus_file_add", dies)
    with pytest.raises(SystemExit):
        patch(client, url, 10_000, TEXT[10_000:])
    monkeypatch.undo()
    assert client.head(url)["Upload-Offset"] == "10000"
    assert patch(client, url, 10_000, TEXT[10_000:]).status_code == 204
    assert corpus.files.get().file.read() == TEXT


@pytest.mark.django_db(transaction=True)
def test_a_refused_large_chunk_still_gets_its_answer_from_gunicorn(member, tmp_path, upload_dir):
    """The server reads a refused chunk to its end before answering: else
    gunicorn closes the connection while the client still sends, and the
    client gets a reset instead of the 409."""
    import http.client

    key = key_of(member)
    url = create(Client(HTTP_AUTHORIZATION=f"Token {key}", **TUS), make_corpus(member), length=len(TEXT) * 400)
    server = WebServer(tmp_path, upload_dir)
    server.start()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        connection.request("PATCH", url, body=TEXT * 300, headers={  # about 7 MB, more than socket buffers hold
            "Authorization": f"Token {key}", "Tus-Resumable": "1.0.0", "Upload-Offset": "5",
            "Content-Type": "application/offset+octet-stream",
        })
        response = connection.getresponse()
        assert response.status == 409
        assert response.getheader("Upload-Offset") == "0"
        connection.close()
        # Nobody else's body is waited for: a stranger announcing 64 MB and
        # sending one byte is answered at once.
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(f"PATCH {url} HTTP/1.1\r\nHost: 127.0.0.1\r\nTus-Resumable: 1.0.0\r\n"
                         f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
                         f"Content-Length: {64 * 1024 * 1024}\r\n\r\nx".encode())
            assert sock.recv(100).startswith(b"HTTP/1.1 401")
    finally:
        server.kill()


def test_the_clean_up_runs_every_hour_as_a_registered_task():
    from django.conf import settings

    from openllm_site.celery import app

    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE["resumable-cleanup"]
    assert schedule["schedule"] == 3600.0
    assert schedule["task"] in app.tasks


@pytest.mark.django_db
def test_cancelling_while_a_chunk_is_written_waits_for_it(member, upload_dir):
    client = client_of(member)
    url = create(client, make_corpus(member))
    (data,) = upload_dir.iterdir()
    with data.open("r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        response = client.delete(url)
    assert response.status_code == 423
    assert response.json()["code"] == "locked"
    assert client.head(url).status_code == 200
    assert client.delete(url).status_code == 204


@pytest.mark.django_db
@pytest.mark.parametrize("last", [False, True], ids=["a chunk", "the last chunk"])
def test_a_corpus_deleted_while_a_chunk_arrives_leaves_nothing(member, upload_dir, last):
    from contributions import submissions

    corpus = make_corpus(member)
    upload = resumable.upload_create(user=member, corpus=corpus, name="a.txt", length=len(TEXT))
    size = len(TEXT) if last else 100
    sent = iter([TEXT[:50], TEXT[50:size]])

    def read(_n: int) -> bytes:
        chunk = next(sent, b"")
        if ResumableUpload.objects.filter(pk=upload.pk).exists():
            submissions.corpus_delete_draft(corpus=corpus, actor=member)
        return chunk

    with pytest.raises(ResumableUpload.DoesNotExist):
        resumable.upload_append(upload=upload, offset=0, read=read, length=size)
    assert list(upload_dir.iterdir()) == []
    assert not CorpusFile.objects.exists()


@pytest.mark.django_db
def test_uploads_under_way_are_bounded_per_member_and_by_the_disk(member, settings, monkeypatch):
    client = client_of(member)
    corpus = make_corpus(member)
    settings.RESUMABLE_UPLOAD_BYTES_PER_MEMBER = 1000
    create(client, corpus, length=600)
    too_much = client.post("/api/v1/uploads/", HTTP_UPLOAD_LENGTH="600",
                           HTTP_UPLOAD_METADATA=metadata(filename="b.txt", corpus=corpus.pk))
    assert too_much.status_code == 400 and "1\u00a0000" in too_much.json()["message"]
    settings.RESUMABLE_UPLOAD_BYTES_PER_MEMBER = 10**12
    import shutil

    real = shutil.disk_usage
    monkeypatch.setattr(resumable.shutil, "disk_usage",
                        lambda path: real(path)._replace(free=settings.RESUMABLE_UPLOAD_FREE_BYTES + 1000))
    # 600 bytes still to come for the first upload, 600 for this one: no room.
    full = client.post("/api/v1/uploads/", HTTP_UPLOAD_LENGTH="600",
                       HTTP_UPLOAD_METADATA=metadata(filename="b.txt", corpus=corpus.pk))
    assert full.status_code == 507 and full.json()["code"] == "insufficient_storage"
    assert create(client, corpus, length=300)
