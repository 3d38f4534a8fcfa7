"""The ``openllm`` command-line client, run as users run it: the console
script installed in the virtualenv, as a separate process, against the live
server (and a real worker where analyses or releases are built)."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import signal
import stat
import subprocess
import sys
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
    _ready_for_training(member, maintainer)
    env = environment(tmp_path, OPENLLM_URL=live_server.url, OPENLLM_TOKEN=token_of(maintainer))

    refused = openllm(tmp_path, "release", "build", "2026-12", env=environment(
        tmp_path, OPENLLM_URL=live_server.url, OPENLLM_TOKEN=token_of(member)))
    assert refused.returncode == 1 and "openllm: error:" in refused.stderr

    built = openllm(tmp_path, "release", "build", "2026-12", "--license", "etalab-2.0", "--public", "--wait",
                    "--timeout", "150", env=env)
    assert built.returncode == 0, built.stderr
    release = Release.objects.get(version="2026-12")
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
