"""The ``openllm`` command-line client, run as users run it: the console
script installed in the virtualenv, as a separate process, against the live
server (and a real worker where analyses or releases are built)."""

from __future__ import annotations

import ast
import hashlib
import http.server
import itertools
import json
import os
import re
import signal
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path
from unittest import mock

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from contributions import resumable, review, submissions, tokens
from contributions.models import (
    ApiToken,
    Corpus,
    CorpusFile,
    CorpusStatus,
    Decision,
    JobStatus,
    Release,
    ResumableUpload,
    TrainingVersion,
)

from .conftest import ROOT
from .corpora import FRENCH, METADATA, analysed, job_finished, jsonl, make_corpus
from .factories import MaintainerFactory, UserFactory

SCRIPT = Path(sys.executable).parent / "openllm"
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "openllm_cli"]
CLI_DIR = ROOT / "openllm_cli"


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A user's environment of their own: home, configuration and upload
    state under ``tmp_path``, English, no token unless given."""
    env = {
        key: value for key, value in os.environ.items()
        if not key.startswith("OPENLLM_") and key not in {"LANG", "LANGUAGE", "LC_ALL", "LC_MESSAGES"}
    }
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update({
        "HOME": str(home), "OPENLLM_CONFIG": str(tmp_path / "config.json"),
        "OPENLLM_STATE": str(tmp_path / "uploads.json"), "LANG": "C.UTF-8",
    })
    if not SCRIPT.exists():
        env["PYTHONPATH"] = str(ROOT)  # python -m openllm_cli from the checkout
    env.update(extra)
    return env


def openllm(tmp_path: Path, *args: str, env: dict[str, str] | None = None, stdin: str = "",
            timeout: float = 180, **extra: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [*COMMAND, *args], env=env or environment(tmp_path, **extra), input=stdin, capture_output=True, text=True,
        timeout=timeout, cwd=tmp_path,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def token_of(user) -> str:
    _token, key = tokens.token_create(user=user, name="cli", days=30)
    return key


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- without a server


def test_console_script_is_installed():
    # `make install` and `make test` install the project into the virtualenv.
    assert SCRIPT.exists(), f"{SCRIPT} is missing: run `make install`"
    result = subprocess.run([str(SCRIPT), "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert result.stdout.strip() == "openllm 0.1.0"


def test_the_client_never_imports_django(tmp_path):
    code = "import sys, openllm_cli.main, openllm_cli.tus; sys.exit('django' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


SUBCOMMANDS = [
    [], ["login"], ["logout"], ["whoami"], ["corpora"], ["corpus"], ["corpus", "create"], ["corpus", "show"],
    ["upload"], ["submit"], ["status"], ["release"], ["release", "build"], ["release", "status"],
    ["release", "download"],
]


@pytest.mark.parametrize("words", SUBCOMMANDS, ids=lambda words: " ".join(words) or "openllm")
def test_help_of_every_command_in_english_and_french(tmp_path, words):
    english = openllm(tmp_path, *words, "--help")
    assert english.returncode == 0, english.stderr
    assert english.stdout.startswith("usage: openllm")
    assert "show this help message and exit" in english.stdout
    french = openllm(tmp_path, *words, "--help", "--lang", "fr")
    assert french.returncode == 0, french.stderr
    assert french.stdout.startswith("utilisation : openllm")
    assert "afficher cette aide et quitter" in french.stdout
    assert "show this help message" not in french.stdout and "positional arguments" not in french.stdout
    # Every line that explains an option or a command is French.
    english_lines = {line.strip() for line in english.stdout.splitlines()}
    for line in french.stdout.splitlines():
        stripped = line.strip()
        if stripped.split(":")[0] in METADATA or re.fullmatch(r"[a-z_, ]+", stripped):
            continue  # the example of a metadata file, the list of its keys
        if len(stripped) > 30 and " " in stripped and not stripped.startswith(("openllm ", "[", "-")):
            assert stripped not in english_lines, f"not translated: {stripped!r}"


def test_language_comes_from_the_option_then_openllm_lang_then_the_locale(tmp_path):
    def first_line(**env: str) -> str:
        return openllm(tmp_path, "--help", env=environment(tmp_path, **env)).stdout.splitlines()[0]

    assert first_line(LANG="fr_FR.UTF-8").startswith("utilisation")
    assert first_line(LC_MESSAGES="fr_CA.UTF-8", LANG="en_US.UTF-8").startswith("utilisation")
    assert first_line(LC_ALL="en_GB.UTF-8", LANG="fr_FR.UTF-8").startswith("usage")
    assert first_line(OPENLLM_LANG="en", LANG="fr_FR.UTF-8").startswith("usage")
    assert first_line(OPENLLM_LANG="fr").startswith("utilisation")
    french = openllm(tmp_path, "--lang=fr", "upload", env=environment(tmp_path, OPENLLM_LANG="en"))
    assert french.returncode == 2
    assert "openllm upload : erreur : ces arguments sont requis : CORPUS, CHEMIN" in french.stderr


def _literals() -> tuple[set[str], set[tuple[str, str]]]:
    singles, plurals = set(), set()
    for path in CLI_DIR.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            texts = [a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)]
            if node.func.id == "_" and texts:
                singles.add(texts[0])
            elif node.func.id == "ngettext" and len(texts) >= 2:
                plurals.add((texts[0], texts[1]))
    return singles, plurals


def test_every_message_has_its_french_and_plurals_agree():
    from openllm_cli import i18n, output

    singles, plurals = _literals()
    assert len(singles) > 150 and len(plurals) >= 5
    labels = {label for table in (output.CORPUS_STATUS, output.JOB_STATUS, output.PERSONAL_DATA, output.QUALITY)
              for label in table.values()}
    missing = sorted((singles | labels) - set(i18n.FR))
    assert not missing, missing
    assert not sorted(plurals - set(i18n.FR_PLURALS))
    # The placeholders of each message are those of its French.
    import string

    def fields(text: str) -> set[str]:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}

    for english, french in i18n.FR.items():
        assert fields(english) == fields(french), english
    try:
        i18n.activate("fr")
        assert i18n.ngettext("{n} file added", "{n} files added", 0).format(n=0) == "0 fichier ajouté"
        assert i18n.ngettext("{n} file added", "{n} files added", 1).format(n=1) == "1 fichier ajouté"
        assert i18n.ngettext("{n} file added", "{n} files added", 2).format(n=2) == "2 fichiers ajoutés"
        assert i18n.size(1536) == "1,5\u00a0Kio"
        i18n.activate("en")
        assert i18n.ngettext("{n} file added", "{n} files added", 0).format(n=0) == "0 files added"
        assert i18n.ngettext("{n} file added", "{n} files added", 1).format(n=1) == "1 file added"
        assert i18n.size(1536) == "1.5\u00a0KiB"
    finally:
        i18n.activate("en")


def test_release_paths_that_leave_the_folder_are_refused(tmp_path):
    from openllm_cli.main import safe_target

    assert safe_target(tmp_path, "data/open/train-0.parquet") == tmp_path / "data" / "open" / "train-0.parquet"
    assert safe_target(tmp_path, "README.md") == tmp_path / "README.md"
    for path in ["../evil", "data/../../evil", "/etc/passwd", "data//x", "./x", "C:/x", "a\\..\\b", "", None, 3]:
        assert safe_target(tmp_path, path) is None, path
    (tmp_path / "link").symlink_to("/tmp")
    assert safe_target(tmp_path, "link/x") is None


def test_wrong_input_is_a_usage_error_and_a_dead_server_a_message(tmp_path):
    no_token = openllm(tmp_path, "corpora", "--url", "http://127.0.0.1:9")
    assert no_token.returncode == 2
    assert "No token for http://127.0.0.1:9: run “openllm login”" in no_token.stderr
    (tmp_path / "bad.yml").write_text("title: [unclosed\n")
    bad_yaml = openllm(tmp_path, "corpus", "create", "--metadata", "bad.yml", OPENLLM_TOKEN="x")
    assert bad_yaml.returncode == 2 and "bad.yml: not valid YAML" in bad_yaml.stderr
    (tmp_path / "odd.yml").write_text("title: A\nlicence: etalab-2.0\n")
    unknown = openllm(tmp_path, "corpus", "create", "--metadata", "odd.yml", OPENLLM_TOKEN="x")
    assert unknown.returncode == 2 and "unknown key “licence”" in unknown.stderr
    missing = openllm(tmp_path, "upload", "3", "nowhere.txt", OPENLLM_TOKEN="x")
    assert missing.returncode == 2 and "nowhere.txt: no such file or folder." in missing.stderr
    bad_size = openllm(tmp_path, "upload", "3", "x", "--chunk-size", "lots", OPENLLM_TOKEN="x")
    assert bad_size.returncode == 2 and "is not a size" in bad_size.stderr
    (tmp_path / "a.txt").write_text("texte")
    dead = openllm(tmp_path, "upload", "3", "a.txt", "--url", "http://127.0.0.1:9", "--retries", "1",
                   OPENLLM_TOKEN="x")
    assert dead.returncode == 1
    assert "Cannot reach http://127.0.0.1:9: connection refused" in dead.stderr
    french = openllm(tmp_path, "corpora", "--url", "http://127.0.0.1:9", OPENLLM_TOKEN="x", OPENLLM_LANG="fr")
    assert french.returncode == 1
    assert "openllm : erreur : Impossible de joindre http://127.0.0.1:9 : connexion refusée" in french.stderr


# ---------------------------------------------------------------- against the live server


@pytest.mark.django_db(transaction=True)
def test_login_checks_the_token_and_keeps_it_for_this_address_only(tmp_path, live_server):
    member = UserFactory(email="lea@example.org", display_name="Léa")
    key = token_of(member)
    bad = openllm(tmp_path, "login", "--url", live_server.url, stdin="not-a-token\n")
    assert bad.returncode == 1
    assert "This token is unknown, expired or revoked." in bad.stderr
    assert "openllm login" in bad.stderr
    assert not (tmp_path / "config.json").exists()

    good = openllm(tmp_path, "login", "--url", live_server.url + "/api/v1/", stdin=key + "\n")
    assert good.returncode == 0, good.stderr
    assert f"Signed in to {live_server.url} as Léa (lea@example.org, member)." in good.stdout
    config = tmp_path / "config.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert json.loads(config.read_text()) == {"url": live_server.url, "tokens": {live_server.url: key}}
    # The saved address and token serve the next commands...
    whoami = openllm(tmp_path, "whoami", "--json")
    assert whoami.returncode == 0, whoami.stderr
    assert json.loads(whoami.stdout)["email"] == "lea@example.org"
    # ...and the token never goes to another address.
    elsewhere = openllm(tmp_path, "whoami", "--url", "http://127.0.0.1:9")
    assert elsewhere.returncode == 2 and "No token for http://127.0.0.1:9" in elsewhere.stderr
    # A token revoked since is refused with the server's message.
    tokens.token_revoke(token=ApiToken.objects.get(user=member), actor=member)
    revoked = openllm(tmp_path, "whoami")
    assert revoked.returncode == 1 and "This token is unknown, expired or revoked." in revoked.stderr
    logout = openllm(tmp_path, "logout")
    assert logout.returncode == 0 and json.loads(config.read_text())["tokens"] == {}


@pytest.mark.django_db(transaction=True)
def test_a_bad_token_gives_the_servers_message(tmp_path, live_server):
    result = openllm(tmp_path, "corpora", "--url", live_server.url, OPENLLM_TOKEN="nope")
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "openllm: error: This token is unknown, expired or revoked."
    assert "then run: openllm login" in result.stderr
    assert result.stdout == ""


@pytest.mark.django_db(transaction=True)
def test_metadata_refused_by_the_server_names_the_field(tmp_path, live_server):
    member = UserFactory()
    result = openllm(
        tmp_path, "corpus", "create", "--url", live_server.url, "--title", "T", "--description", "D",
        "--language", "fr", "--license", "stolen", "--domain", "news", "--source-url", "https://example.org",
        "--rights-attested", OPENLLM_TOKEN=token_of(member),
    )
    assert result.returncode == 1
    assert "(field: license)" in result.stderr
    assert not Corpus.objects.exists()


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "textes"
    (folder / "sub" / ".cache").mkdir(parents=True)
    (folder / "a.txt").write_text(FRENCH[0])
    (folder / "sub" / "b.jsonl").write_bytes(jsonl(FRENCH[1], FRENCH[2] + " Écrivez à jean.dupont@example.org."))
    (folder / "c.md").write_text("# Conseil\n\n" + FRENCH[2] + "\n")
    # Left out: not a supported type, hidden.
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")
    (folder / ".brouillon.txt").write_text("caché")
    (folder / "sub" / ".cache" / "x.txt").write_text("caché")
    return folder


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_create_from_yaml_with_a_folder_then_submit_wait_and_list(tmp_path, live_server, celery_worker):
    import yaml

    member = UserFactory()
    env = environment(tmp_path, OPENLLM_URL=live_server.url, OPENLLM_TOKEN=token_of(member))
    (tmp_path / "corpus.yml").write_text(yaml.safe_dump(METADATA, allow_unicode=True))
    folder = _folder(tmp_path)

    created = openllm(tmp_path, "corpus", "create", "--metadata", "corpus.yml", "textes", env=env)
    assert created.returncode == 0, created.stderr
    corpus_id = int(created.stdout.splitlines()[0])
    corpus = Corpus.objects.get(pk=corpus_id)
    assert corpus.submitter == member and corpus.title == METADATA["title"] and corpus.license == "etalab-2.0"
    # The server keeps the files' names, without their folders.
    files = {f.original_name: f for f in CorpusFile.objects.filter(corpus=corpus)}
    assert sorted(files) == ["a.txt", "b.jsonl", "c.md"]
    for path in ["a.txt", "c.md", "sub/b.jsonl"]:
        corpus_file = files[path.rsplit("/", 1)[-1]]
        assert corpus_file.sha256 == sha256((folder / path).read_bytes())
        assert f"{path}: added (file {corpus_file.id})." in created.stdout
    assert "3 files added, 0 refused." in created.stderr
    # Not a TTY: progress comes as plain lines.
    assert "a.txt: " in created.stderr and "100%" in created.stderr

    submitted = openllm(tmp_path, "submit", str(corpus_id), "--wait", "--timeout", "150", env=env)
    assert submitted.returncode == 0, submitted.stderr
    report = submitted.stdout
    assert f"Corpus {corpus_id}: Awaiting review (version 1)" in report
    assert "Analysis: Done" in report
    assert "Documents: 4" in report
    assert "Languages: fr 100% (4)" in report
    assert "email addresses: 1 in 1 document" in report
    assert "Duplicates: 0 exact within the corpus" in report

    status = openllm(tmp_path, "status", str(corpus_id), "--json", env=env)
    assert json.loads(status.stdout)["analysis"]["report"]["documents"] == 4
    french = openllm(tmp_path, "status", str(corpus_id), "--lang", "fr", env=env)
    assert "Analyse : Terminé" in french.stdout and "Documents : 4" in french.stdout
    assert "adresses e-mail : 1 dans 1 document" in french.stdout

    make_corpus(member, title="Un autre")
    listed = openllm(tmp_path, "corpora", env=env)
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["ID", "STATUS", "DOCUMENTS", "WORDS", "LICENSE", "TITLE"]
    assert "Un autre" in lines[1] and METADATA["title"] in lines[2] and "Awaiting review" in lines[2]
    assert [c["id"] for c in json.loads(openllm(tmp_path, "corpora", "--json", env=env).stdout)][1] == corpus_id


def _long_text() -> bytes:
    return "\n\n".join(FRENCH * 1000).encode()  # about 600 KB: ten chunks of 64 KiB


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_upload_resumes_where_the_server_stopped(tmp_path, live_server):
    member = UserFactory()
    corpus = make_corpus(member)
    path = tmp_path / "long.txt"
    data = _long_text()
    path.write_bytes(data)
    chunk = 64 * 1024
    env = environment(tmp_path, OPENLLM_URL=live_server.url, OPENLLM_TOKEN=token_of(member))
    args = [*COMMAND, "upload", str(corpus.pk), "long.txt", "--split", "blank_lines", "--chunk-size", "64K"]

    # The client is killed (SIGKILL: nothing saved at the last moment) as
    # its second chunk reaches the server.
    original = resumable.upload_append
    calls: list[tuple[int, int]] = []
    client: dict[str, subprocess.Popen] = {}

    def kill_at_the_second_chunk(**kwargs):
        calls.append((kwargs["offset"], kwargs["length"]))
        if len(calls) == 2:
            os.kill(client["process"].pid, signal.SIGKILL)
            return kwargs["upload"]
        return original(**kwargs)

    with mock.patch.object(resumable, "upload_append", kill_at_the_second_chunk):
        client["process"] = subprocess.Popen(args, env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                                             stderr=subprocess.PIPE, text=True)
        client["process"].communicate(timeout=120)
    assert client["process"].returncode == -signal.SIGKILL
    upload = ResumableUpload.objects.get(corpus=corpus)
    assert upload.offset == chunk and upload.length == len(data)
    state = json.loads((tmp_path / "uploads.json").read_text())
    assert [entry["url"].rsplit("/", 1)[1] for entry in state["uploads"].values()] == [upload.key]
    assert stat.S_IMODE((tmp_path / "uploads.json").stat().st_mode) == 0o600

    # Run again: it asks the server where it stands and sends the rest, once.
    calls.clear()

    def record(**kwargs):
        calls.append((kwargs["offset"], kwargs["length"]))
        return original(**kwargs)

    with mock.patch.object(resumable, "upload_append", record):
        resumed = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert resumed.returncode == 0, resumed.stderr
    total = f"{len(data) / 1024:.1f}\u00a0KiB"
    assert f"long.txt: resuming at 64.0\u00a0KiB of {total}." in resumed.stderr
    assert calls[0][0] == chunk
    assert sum(length for _offset, length in calls) == len(data) - chunk
    assert all(offset == previous + length for (previous, length), (offset, _l) in zip(calls, calls[1:]))
    [corpus_file] = CorpusFile.objects.filter(corpus=corpus)
    assert corpus_file.sha256 == sha256(data) and corpus_file.size == len(data)
    assert corpus_file.split == "blank_lines"
    assert f"long.txt: added (file {corpus_file.id})." in resumed.stdout
    assert json.loads((tmp_path / "uploads.json").read_text())["uploads"] == {}
    # The same command once more: a new upload of the file (the first one is done).
    assert not ResumableUpload.objects.filter(status=ResumableUpload.Status.RECEIVING).exists()


@pytest.mark.django_db(transaction=True)
def test_server_errors_and_damaged_chunks_are_sent_again(tmp_path, live_server):
    member = UserFactory()
    corpus = make_corpus(member)
    data = _long_text()
    (tmp_path / "long.txt").write_bytes(data)
    original = resumable.upload_append
    calls: list[int] = []

    def flaky(**kwargs):
        calls.append(kwargs["offset"])
        if len(calls) == 2:
            raise RuntimeError("the disk is on fire")  # a 500
        if len(calls) == 3:
            raise resumable.ChecksumMismatch  # a 460
        return original(**kwargs)

    with mock.patch.object(resumable, "upload_append", flaky):
        result = openllm(tmp_path, "upload", str(corpus.pk), "long.txt", "--chunk-size", "64K",
                         OPENLLM_URL=live_server.url, OPENLLM_TOKEN=token_of(member))
    assert result.returncode == 0, result.stderr
    assert "long.txt: the server answered HTTP 500; trying again in 0.5 s (1 of 5)." in result.stderr
    assert calls[:4] == [0, 65536, 65536, 65536]
    assert CorpusFile.objects.get(corpus=corpus).sha256 == sha256(data)


@pytest.mark.django_db(transaction=True)
def test_a_refused_file_gives_its_message_and_the_others_go_on(tmp_path, live_server):
    member = UserFactory()
    corpus = make_corpus(member)
    (tmp_path / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    (tmp_path / "good.txt").write_text(FRENCH[0])
    (tmp_path / "program.exe").write_bytes(b"MZ\x90")
    result = openllm(tmp_path, "upload", str(corpus.pk), "image.txt", "good.txt", "program.exe",
                     OPENLLM_URL=live_server.url, OPENLLM_TOKEN=token_of(member))
    assert result.returncode == 1
    assert "openllm: error: image.txt: the content is not text: it looks like a PNG image" in result.stderr
    assert "openllm: error: program.exe: unsupported file type" in result.stderr
    assert "1 file added, 2 refused." in result.stderr
    assert [f.original_name for f in CorpusFile.objects.filter(corpus=corpus)] == ["good.txt"]
    assert json.loads((tmp_path / "uploads.json").read_text())["uploads"] == {}
    # Another member's corpus does not exist for this one.
    other = openllm(tmp_path, "upload", str(corpus.pk), "good.txt", OPENLLM_URL=live_server.url,
                    OPENLLM_TOKEN=token_of(UserFactory()))
    assert other.returncode == 1 and "Not found." in other.stderr


# ---------------------------------------------------------------- releases


def _ready_for_training(member, maintainer) -> Corpus:
    corpus, _run = analysed(member, [("a.jsonl", jsonl(*FRENCH))])
    corpus = review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    job_finished("training", TrainingVersion.objects.get(corpus=corpus).id)
    corpus.refresh_from_db()
    assert corpus.status == CorpusStatus.QUEUED_FOR_TRAINING
    return corpus


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_release_build_wait_and_download_checked(tmp_path, live_server, celery_worker):
    member, maintainer = UserFactory(), MaintainerFactory()
    corpus = _ready_for_training(member, maintainer)
    env = environment(tmp_path, OPENLLM_URL=live_server.url, OPENLLM_TOKEN=token_of(maintainer))

    refused = openllm(tmp_path, "release", "build", "2026-12", env=environment(
        tmp_path, OPENLLM_URL=live_server.url, OPENLLM_TOKEN=token_of(member)))
    assert refused.returncode == 1 and "openllm: error:" in refused.stderr

    built = openllm(tmp_path, "release", "build", "2026-12", "--license", "etalab-2.0", "--corpus", str(corpus.pk),
                    "--public", "--wait", "--timeout", "150", env=env)
    assert built.returncode == 0, built.stderr
    release = Release.objects.get(version="2026-12")
    assert list(release.entries.values_list("corpus_id", flat=True)) == [corpus.pk]
    assert release.status == JobStatus.DONE and release.public
    assert "Release 2026-12: Done" in built.stdout
    assert len(release.files) >= 2
    for item in release.files:
        assert f"  {item['path']}  " in built.stdout

    out = tmp_path / "release"
    downloaded = openllm(tmp_path, "release", "download", "2026-12", "--to", str(out), env=env)
    assert downloaded.returncode == 0, downloaded.stderr
    for item in release.files:
        data = (out / item["path"]).read_bytes()
        assert len(data) == item["bytes"] and sha256(data) == item["sha256"]
    assert not list(out.rglob("*.part"))
    again = openllm(tmp_path, "release", "download", "2026-12", "--to", str(out), env=env)
    assert again.returncode == 0 and f"{release.files[0]['path']}: already there, checked." in again.stderr

    # A stored file damaged since its build (same size, one byte changed).
    damaged = max(release.files, key=lambda item: item["bytes"])
    name = f"{release.prefix}/{damaged['path']}"
    with default_storage.open(name, "rb") as handle:
        content = bytearray(handle.read())
    content[len(content) // 2] ^= 0xFF
    default_storage.delete(name)
    default_storage.save(name, ContentFile(bytes(content)))
    fresh = tmp_path / "fresh"
    tampered = openllm(tmp_path, "release", "download", "2026-12", "--to", str(fresh), env=env)
    assert tampered.returncode == 1
    assert f"{damaged['path']}: the SHA-256 does not match (expected {damaged['sha256']}" in tampered.stderr
    assert not (fresh / damaged["path"]).exists()
    assert not list(fresh.rglob("*.part"))
    others = [item for item in release.files if item is not damaged]
    assert all((fresh / item["path"]).exists() for item in others)


@pytest.mark.django_db(transaction=True)
def test_a_release_that_is_not_built_is_not_downloaded(tmp_path, live_server):
    maintainer = MaintainerFactory()
    Release.objects.create(version="2027-01", created_by=maintainer, status=JobStatus.FAILED, error="boom")
    result = openllm(tmp_path, "release", "download", "2027-01", "--to", "out", OPENLLM_URL=live_server.url,
                     OPENLLM_TOKEN=token_of(maintainer))
    assert result.returncode == 1
    assert "Release 2027-01 is not built (Failed)." in result.stderr
    status = openllm(tmp_path, "release", "status", "2027-01", OPENLLM_URL=live_server.url,
                     OPENLLM_TOKEN=token_of(maintainer))
    assert status.returncode == 0 and "Reason: boom" in status.stdout


def test_submissions_module_is_what_the_api_uses():
    # The CLI's metadata keys are the API's.
    from openllm_cli.main import METADATA_KEYS

    assert submissions.METADATA_FIELDS == METADATA_KEYS


# ---------------------------------------------------------------- against a hostile or broken server
# A server of the test's own on 127.0.0.1: each test says what it answers.

MiB = 1024 * 1024
# What a terminal would act on: C0 controls but newline and tab, DEL, C1,
# bidirectional overrides and isolates.
TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@dataclass
class Request:
    method: str
    path: str
    headers: Message
    body: bytes


@dataclass
class FakeServer:
    url: str
    requests: list[Request] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)  # bytes of a streamed body sent, by path

    def of(self, method: str, prefix: str = "/") -> list[Request]:
        return [r for r in self.requests if r.method == method and r.path.startswith(prefix)]

    def sent_to(self, path: str) -> int:
        """The bytes of ``path``'s streamed body the server sent before the
        client hung up (the server notices it soon after)."""
        deadline = time.monotonic() + 10
        while path not in self.sent and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.sent[path]


Answer = tuple[int, dict[str, str], bytes | Iterable[bytes]]


@pytest.fixture
def fake_server() -> Iterator[Callable[[Callable[[Request], Answer]], FakeServer]]:
    """``start(app)``: a server whose ``app`` turns each request into
    (status, headers, body); a body that is not bytes is an iterable of
    pieces, sent without a length until it ends or the client hangs up."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def start(app: Callable[[Request], Answer]) -> FakeServer:
        fake = FakeServer(url="")

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                request = Request(self.command, self.path, self.headers, self.rfile.read(length) if length else b"")
                fake.requests.append(request)
                status, headers, body = app(request)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                if isinstance(body, bytes):
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(body)
                    return
                self.end_headers()
                count = 0
                try:
                    for piece in body:
                        self.wfile.write(piece)
                        count += len(piece)
                except OSError:
                    pass  # the client hung up
                finally:
                    fake.sent[self.path] = count

            do_GET = do_POST = do_PATCH = do_HEAD = do_DELETE = answer

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        servers.append(server)
        fake.url = f"http://127.0.0.1:{server.server_address[1]}"
        return fake

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def as_json(data: object, status: int = 200, **headers: str) -> Answer:
    return status, {"Content-Type": "application/json", **headers}, json.dumps(data, ensure_ascii=False).encode()


def endless(total: int = 64 * MiB, piece: bytes = b" " * (64 * 1024)) -> Iterator[bytes]:
    """A body without end as far as a client can tell (it stops at
    ``total``, so that a client that reads it all still finishes)."""
    for _ in range(total // len(piece)):
        yield piece


def release(version: str, *files: tuple[str, bytes]) -> dict:
    return {"version": version, "status": "done",
            "files": [{"path": path, "bytes": len(data), "sha256": sha256(data)} for path, data in files]}


def run_raw(tmp_path: Path, *args: str, **extra: str) -> tuple[int, str, str]:
    """The command's exit status, stdout and stderr exactly as written
    (text=True would turn a CR into a newline)."""
    result = subprocess.run([*COMMAND, *args], env=environment(tmp_path, **extra), capture_output=True,
                            timeout=60, cwd=tmp_path)
    stdout, stderr = result.stdout.decode("utf-8"), result.stderr.decode("utf-8")
    assert "Traceback" not in stderr, stderr
    return result.returncode, stdout, stderr


def test_an_endless_answer_is_refused_not_read_whole(tmp_path, fake_server):
    def app(request: Request) -> Answer:
        if request.path == "/api/v1/me/":
            return 200, {"Content-Type": "application/json"}, itertools.chain([b"["], endless())
        # An error whose body has no end: its status speaks for it.
        return 404, {"Content-Type": "application/json"}, endless()

    fake = fake_server(app)
    env = {"OPENLLM_URL": fake.url, "OPENLLM_TOKEN": "t"}
    whoami = openllm(tmp_path, "whoami", **env)
    assert whoami.returncode == 1
    assert "openllm: error: The server's answer is too large (more than 16.0\u00a0MiB)." in whoami.stderr
    assert fake.sent_to("/api/v1/me/") < 48 * MiB  # it hung up once past 16 MiB
    shown = openllm(tmp_path, "corpus", "show", "5", **env)
    assert shown.returncode == 1 and "Not found (HTTP 404)" in shown.stderr
    assert fake.sent_to("/api/v1/corpora/5/") < 48 * MiB
    french = openllm(tmp_path, "whoami", "--lang", "fr", **env)
    assert "La réponse du serveur est trop grande (plus de 16,0\u00a0Mio)." in french.stderr


def test_a_download_stops_past_the_size_announced(tmp_path, fake_server):
    files = "/api/v1/releases/v1/files/"

    def app(request: Request) -> Answer:
        if request.path == "/api/v1/releases/v1/":
            return as_json(release("v1", ("big.bin", b"hello"), ("gone.txt", b"x"), ("ok.txt", b"right")))
        if request.path == files + "big.bin":
            return 200, {}, itertools.chain([b"hello"], endless())
        if request.path == files + "ok.txt":
            return 200, {}, b"right"
        return 404, {"Content-Type": "application/json"}, endless()

    fake = fake_server(app)
    result = openllm(tmp_path, "release", "download", "v1", "--to", "out", OPENLLM_URL=fake.url, OPENLLM_TOKEN="t")
    assert result.returncode == 1
    assert "openllm: error: big.bin: the server sent more than the 5 bytes announced." in result.stderr
    assert f"openllm: error: gone.txt: Not found (HTTP 404): {fake.url}{files}gone.txt" in result.stderr
    assert "1 file of release v1 in out, checked." in result.stdout and "2 files failed." in result.stderr
    out = tmp_path / "out"
    assert (out / "ok.txt").read_bytes() == b"right"
    assert not (out / "big.bin").exists() and not list(out.rglob("*.part"))
    assert fake.sent_to(files + "big.bin") < 48 * MiB
    assert fake.sent_to(files + "gone.txt") < 48 * MiB


def test_pages_that_go_round_in_circles_or_never_end_are_stopped(tmp_path, fake_server, monkeypatch):
    from openllm_cli import client as client_module

    mode = {"next": "same"}

    def app(request: Request) -> Answer:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.path).query)
        page = int(query.get("page", ["1"])[0])
        if mode["next"] == "same":
            following: str | None = request.path
        elif mode["next"] == "cycle":
            following = f"/api/v1/corpora/?page={3 if page == 2 else 2}"  # 1, 2, 3, 2, 3...
        else:
            following = f"/api/v1/corpora/?page={page + 1}"  # each page new
        if len(fake.requests) > 100:
            following = None  # a client that never stops, stopped here
        results = [{"id": page * 10 + n, "status": "draft", "title": f"T{page}.{n}"} for n in range(2)]
        # The host named in ``next`` is not the client's business: it stays on its address.
        return as_json({"results": results, "next": following and "http://elsewhere.example" + following})

    fake = fake_server(app)
    env = {"OPENLLM_URL": fake.url, "OPENLLM_TOKEN": "t"}
    same = openllm(tmp_path, "corpora", **env)
    assert same.returncode == 1, same.stderr
    assert (f"openllm: error: The server's list goes round in circles (it leads back to {fake.url}/api/v1/corpora/)."
            in same.stderr)
    assert len(fake.requests) == 1 and same.stdout == ""

    fake.requests.clear()
    mode["next"] = "cycle"
    cycle = openllm(tmp_path, "corpora", "--json", **env)
    assert cycle.returncode == 1
    assert f"(it leads back to {fake.url}/api/v1/corpora/?page=2)" in cycle.stderr
    assert [r.path for r in fake.requests] == ["/api/v1/corpora/", "/api/v1/corpora/?page=2",
                                               "/api/v1/corpora/?page=3"]

    # Pages without end: stopped at MAX_PAGES (10,000; 5 here), and at
    # MAX_RESULTS whichever comes first.
    fake.requests.clear()
    mode["next"] = "new"
    monkeypatch.setattr(client_module, "MAX_PAGES", 5)
    client = client_module.Client(fake.url, "t")
    with pytest.raises(client_module.ApiError, match="goes on past 5 pages: stopped"):
        list(client.pages("corpora/"))
    assert len(fake.requests) == 5
    fake.requests.clear()
    monkeypatch.setattr(client_module, "MAX_RESULTS", 7)
    with pytest.raises(client_module.ApiError, match="goes on past 7 results: stopped"):
        list(client.pages("corpora/"))
    assert len(fake.requests) == 4


def tus_server(fake_server, patch: Callable[[Request, int], Answer], post: Callable[[int], Answer] | None = None):
    """A tus endpoint: POST makes /api/v1/uploads/abc (or answers
    ``post(n)`` for the n-th POST), PATCH answers ``patch(request, n)``."""
    posts = [0]
    patches = [0]

    def app(request: Request) -> Answer:
        if request.method == "POST" and request.path == "/api/v1/uploads/":
            posts[0] += 1
            if post is not None:
                return post(posts[0])
            return 201, {"Location": "/api/v1/uploads/abc", "Tus-Resumable": "1.0.0"}, b""
        if request.method == "PATCH" and request.path == "/api/v1/uploads/abc":
            patches[0] += 1
            return patch(request, patches[0])
        if request.method == "HEAD":
            return 404, {}, b""
        return as_json({"code": "not_found", "message": "Not found."}, 404)

    return fake_server(app)


def test_an_upload_the_server_never_lets_move_on_fails_after_the_retries(tmp_path, fake_server):
    (tmp_path / "a.txt").write_bytes(b"ab")
    conflict = json.dumps({"code": "conflict", "message": "The upload is not at this offset."}).encode()

    def stuck(request: Request, n: int) -> Answer:
        if n > 30:  # a client that never gives up, let through here
            return 204, {"Upload-Offset": "2", "Corpus-File": "7"}, b""
        return 409, {"Upload-Offset": "0", "Content-Type": "application/json"}, conflict

    fake = tus_server(fake_server, stuck)
    env = {"OPENLLM_URL": fake.url, "OPENLLM_TOKEN": "t"}
    result = openllm(tmp_path, "upload", "3", "a.txt", "--retries", "1", **env)
    assert result.returncode == 1, result.stderr
    assert ("a.txt: the server's offset does not move on (it stays at 0 of 2); trying again in 0.5 s (1 of 1)."
            in result.stderr)
    assert ("openllm: error: a.txt: giving up after 2 tries (the server's offset does not move on (it stays at 0 "
            "of 2)). Run the same command again to resume the upload.") in result.stderr
    assert len(fake.of("PATCH")) == 2

    # Forward, then back (409 at 0), then forward again to where it was:
    # no progress past the farthest point either.
    def back_and_forth(request: Request, n: int) -> Answer:
        if n > 30:
            return 204, {"Upload-Offset": "2", "Corpus-File": "7"}, b""
        if request.headers["Upload-Offset"] == "0":
            return 204, {"Upload-Offset": "1"}, b""
        return 409, {"Upload-Offset": "0", "Content-Type": "application/json"}, conflict

    (tmp_path / "uploads.json").unlink(missing_ok=True)
    fake = tus_server(fake_server, back_and_forth)
    again = openllm(tmp_path, "upload", "3", "a.txt", "--retries", "1", "--chunk-size", "1", OPENLLM_URL=fake.url,
                    OPENLLM_TOKEN="t")
    assert again.returncode == 1
    assert "giving up after 2 tries (the server's offset does not move on (it stays at 1 of 2))" in again.stderr
    assert [r.headers["Upload-Offset"] for r in fake.of("PATCH")] == ["0", "1", "0"]


def test_retry_after_is_read_strictly_and_its_wait_capped(tmp_path, fake_server):
    from email.message import Message as Headers
    from email.utils import formatdate

    from openllm_cli import tus
    from openllm_cli.client import Client, Response

    # A superscript two passes str.isdigit() but not float(): a default wait.
    def busy_once(n: int) -> Answer:
        if n == 1:
            return 429, {"Retry-After": "²", "Content-Type": "application/json"}, b'{"message": "Slow down."}'
        return 201, {"Location": "/api/v1/uploads/abc"}, b""

    def done(request: Request, n: int) -> Answer:
        return 204, {"Upload-Offset": str(len(request.body)), "Corpus-File": "7"}, b""

    fake = tus_server(fake_server, done, post=busy_once)
    (tmp_path / "a.txt").write_bytes(b"texte")
    started = time.monotonic()
    result = openllm(tmp_path, "upload", "3", "a.txt", OPENLLM_URL=fake.url, OPENLLM_TOKEN="t")
    assert result.returncode == 0, result.stderr
    assert "a.txt: added (file 7)." in result.stdout
    assert len(fake.of("POST")) == 2 and time.monotonic() - started < 20

    now = 1_700_000_000.0
    assert tus.retry_after("3") == 3 and tus.retry_after(" 0 ") == 0
    assert tus.retry_after("3600") == 60 and tus.retry_after("9" * 5000) == 60
    for wrong in ["²", "٣", "1.5", "-1", "1e3", "soon", "", None, "Wed, 99 Foo 2025 25:61:00 GMT"]:
        assert tus.retry_after(wrong) is None, wrong
    assert tus.retry_after(formatdate(now + 30, usegmt=True), now=now) == 30
    assert tus.retry_after(formatdate(now + 86400, usegmt=True), now=now) == 60
    assert tus.retry_after(formatdate(now - 30, usegmt=True), now=now) == 0

    def answer(**headers: str) -> Response:
        message = Headers()
        for name, value in headers.items():
            message[name.replace("_", "-")] = value
        return Response(429, message)

    waits: list[float] = []
    uploader = tus.Uploader(Client(fake.url, "t"), 3, state=None, sleep=waits.append)
    for value in ["3600", "²", "7", formatdate(time.time() + 3600, usegmt=True)]:
        uploader._wait(answer(Retry_After=value), 2, "a.txt")
    assert waits == [60, 1.0, 7, 60]
    # The same strictness for the upload's offset and the file's id.
    assert tus._offset(answer(Upload_Offset="²")) is None and tus._offset(answer(Upload_Offset="12")) == 12
    assert tus._file_id(answer(Corpus_File="1" * 5000)) is None


EVIL = "Évil\x1b]0;pwned\x07\x1b[2J\x9b31m\u202egnp.exe\u2066\r\x7f\x00"


def test_what_the_server_sends_never_drives_the_terminal(tmp_path, fake_server):
    files = [("a\x1b[2J.txt", b"abc"), ("\u202eevil.txt", b"xyz")]
    listing = release("v1", *files)
    listing["files"][1]["sha256"] = "0" * 64  # a file that does not check out: its path in an error
    corpus = {"id": 1, "status": "draft", "title": EVIL, "license": "x\x9b31m", "domain": EVIL, "version": 1,
              "languages": ["fr\x1b[1m"]}
    routes = {
        "/api/v1/me/": {"display_name": EVIL, "email": "e@example.org", "role": "member\x1b[2J"},
        "/api/v1/corpora/": {"results": [corpus], "next": None},
        "/api/v1/corpora/1/": corpus,
        "/api/v1/corpora/1/status/": {"id": 1, "status": EVIL, "version": 1,
                                      "analysis": {"status": "failed", "error": EVIL}},
        "/api/v1/releases/v1/": {**listing, "status": "done", "error": EVIL},
    }

    def app(request: Request) -> Answer:
        path = urllib.parse.unquote(request.path)
        if request.method == "POST" and path == "/api/v1/corpora/":
            return as_json({"code": "invalid", "message": EVIL, "field": "title\x1b[2J",
                            "errors": [{"message": EVIL}, {"message": EVIL, "field": "x\u202e"}]}, 400)
        if request.method == "POST" and path == "/api/v1/uploads/":
            return 201, {"Location": "/api/v1/uploads/abc"}, b""
        if request.method == "PATCH":
            return 204, {"Upload-Offset": str(len(request.body)), "Corpus-File": "7"}, b""
        for name, data in files:
            if path == "/api/v1/releases/v1/files/" + name:
                return 200, {}, data
        return as_json(routes[path])

    fake = fake_server(app)
    (tmp_path / "évil\x1b]0;x\x07.txt").write_bytes(b"texte")
    env = {"OPENLLM_URL": fake.url, "OPENLLM_TOKEN": "t"}
    commands = [
        ["whoami"], ["corpora"], ["corpus", "show", "1"], ["status", "1"], ["release", "status", "v1"],
        ["release", "download", "v1", "--to", "out"], ["corpus", "create", "--title", "T"],
        ["upload", "3", "évil\x1b]0;x\x07.txt"], ["corpora", "--json"], ["status", "1", "--json"],
    ]
    for command in commands:
        _status, stdout, stderr = run_raw(tmp_path, *command, **env)
        for text in (stdout, stderr):
            assert not TERMINAL_CONTROLS.search(text), (command, text)
        shown = stdout + stderr
        # Shown, as escapes, rather than acted on.
        assert "\\x1b" in shown or "\\u202e" in shown or "\\u001b" in shown, (command, shown)
        if command[-1] == "--json":
            # Still the server's JSON, to the character.
            data = json.loads(stdout)
            assert data == ([corpus] if command[0] == "corpora" else routes["/api/v1/corpora/1/status/"])
    # The files are written under the names the server gave.
    assert (tmp_path / "out" / "a\x1b[2J.txt").read_bytes() == b"abc"
    _status, stdout, stderr = run_raw(tmp_path, "corpora", **env)
    assert "Évil\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202egnp.exe\\u2066\\x0d\\x7f\\x00" in stdout


def test_a_release_file_that_cannot_be_written_is_named_and_the_others_go_on(tmp_path, fake_server):
    good, inner, other = ("ok/good.txt", b"good"), ("ok/good.txt/inner.txt", b"inner"), ("other.txt", b"other")
    listings = {"/api/v1/releases/v1/": release("v1", good, inner, other),
                "/api/v1/releases/v2/": release("v2", inner, good, other)}

    def app(request: Request) -> Answer:
        if request.path in listings:
            return as_json(listings[request.path])
        return 200, {}, dict([good, inner, other])[request.path.split("/files/", 1)[1]]

    fake = fake_server(app)
    env = {"OPENLLM_URL": fake.url, "OPENLLM_TOKEN": "t"}
    # ok/good.txt is written first: ok/good.txt/ cannot be made for the next.
    first = openllm(tmp_path, "release", "download", "v1", "--to", "one", **env)
    assert first.returncode == 1
    assert "openllm: error: ok/good.txt/inner.txt: cannot be written (File exists)." in first.stderr
    assert "2 files of release v1 in one, checked." in first.stdout and "1 file failed." in first.stderr
    assert (tmp_path / "one/ok/good.txt").read_bytes() == b"good"
    assert (tmp_path / "one/other.txt").read_bytes() == b"other"
    # The other way round: ok/good.txt is a folder by the time it comes.
    second = openllm(tmp_path, "release", "download", "v2", "--to", "two", **env)
    assert second.returncode == 1
    assert "openllm: error: ok/good.txt: cannot be written (Is a directory)." in second.stderr
    assert "2 files of release v2 in two, checked." in second.stdout and "1 file failed." in second.stderr
    assert (tmp_path / "two/ok/good.txt/inner.txt").read_bytes() == b"inner"
    assert (tmp_path / "two/other.txt").read_bytes() == b"other"
    assert not list(tmp_path.rglob("*.part"))


def test_a_release_file_named_like_a_partial_download_is_not_written_over(tmp_path, fake_server):
    # In this order, "a.txt" would be written aside as "a.txt.part".
    files = [("a.txt.part", b"first file, longer"), ("a.txt", b"second file")]
    listing = release("v1", *files)

    def app(request: Request) -> Answer:
        if request.path == "/api/v1/releases/v1/":
            return as_json(listing)
        return 200, {}, dict(files)[request.path.split("/files/", 1)[1]]

    fake = fake_server(app)
    done = openllm(tmp_path, "release", "download", "v1", "--to", "out", OPENLLM_URL=fake.url, OPENLLM_TOKEN="t")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out/a.txt.part").read_bytes() == b"first file, longer"
    assert (tmp_path / "out/a.txt").read_bytes() == b"second file"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.txt", "a.txt.part"]
