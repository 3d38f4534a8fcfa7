"""The corpus page's upload form in headless Chromium: files sent in chunks
through the tus API (static/js/upload.js), with a progress bar, resumed after
a dropped connection or a reload, refused with the server's words; and the
plain form without JavaScript."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from contributions.models import CorpusFile, ResumableUpload

from .corpora import FRENCH, jsonl, make_corpus
from .factories import PASSWORD, UserFactory
from .test_browser import sign_in, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

KIB = 1024
CHUNK = 64 * KIB
UPLOADS = re.compile(r"/api/v1/uploads/")
# Records what the upload rows show: the progress values, and the texts of
# the numbers and status lines.
RECORD = """() => {
    window.__progress = [];
    window.__numbers = [];
    window.__statuses = [];
    const rows = document.querySelector("[data-upload-rows]");
    new MutationObserver((changes) => changes.forEach((change) => {
        const target = change.target.nodeType === 1 ? change.target : change.target.parentElement;
        if (target.tagName === "PROGRESS" && change.attributeName === "value") {
            window.__progress.push(Number(target.value));
        }
        const numbers = target.closest("[data-numbers]");
        if (numbers) {
            window.__numbers.push(numbers.textContent);
        }
        const status = target.closest("[data-status]");
        if (status) {
            window.__statuses.push(status.textContent);
        }
    })).observe(rows, {subtree: true, attributes: true, attributeFilter: ["value"], childList: true,
                       characterData: true});
}"""


def corpus_text(size: int) -> bytes:
    """JSON lines of French text, ``size`` bytes or a little more."""
    lines, count = [], 0
    while sum(len(line) for line in lines) < size:
        lines.append(jsonl(f"{FRENCH[count % len(FRENCH)]} (séance {count})."))
        count += 1
    return b"".join(lines)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@contextmanager
def browsing(browser, live_server, **options) -> Iterator[object]:
    options = {"locale": "fr-FR", "viewport": {"width": 390, "height": 844}, **options}
    context = browser.new_context(base_url=live_server.url, **options)
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()


class TusTraffic:
    """The tus requests of a page: (method, Upload-Offset) in order, and
    whether each went through. ``cut`` set: PATCH requests fail as if the
    network dropped (they never reach the server)."""

    def __init__(self, page) -> None:
        self.sent: list[tuple[str, int | None]] = []
        self.cut = False
        self.cut_after = 0
        page.route(UPLOADS, self.handle)

    def handle(self, route) -> None:
        request = route.request
        offset = request.headers.get("upload-offset")
        patches = [entry for entry in self.sent if entry[0] == "PATCH"]
        if request.method == "PATCH" and self.cut and len(patches) >= self.cut_after:
            self.sent.append(("PATCH cut", int(offset)))
            route.abort("internetdisconnected")
            return
        self.sent.append((request.method, int(offset) if offset is not None else None))
        route.continue_()

    def methods(self) -> list[str]:
        return [method for method, _offset in self.sent]

    def patch_offsets(self) -> list[int]:
        return [offset for method, offset in self.sent if method == "PATCH"]


def sign_in_any_language(page, user) -> None:
    page.goto("/accounts/login/")
    page.locator("#id_login").fill(user.email)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(re.compile(r"/$"))


def open_corpus(page, member, corpus, chunk_size: int = CHUNK) -> None:
    sign_in_any_language(page, member)
    page.goto(f"/corpora/{corpus.pk}/")
    # The chunk size is the form's to say: small here, so that a small file takes several.
    page.locator("form[data-tus-endpoint]").evaluate(
        "(form, size) => form.setAttribute('data-chunk-size', String(size))", chunk_size
    )


def slowly(route) -> None:
    if route.request.method == "PATCH":
        time.sleep(0.15)
    route.fallback()


def upload_row(page, name: str):
    return page.locator(".upload-row").filter(has=page.locator("label", has_text=name))


def test_a_file_goes_in_chunks_with_a_progress_bar_and_shows_up_in_place(browser, live_server, tmp_path):
    from playwright.sync_api import expect

    member = UserFactory()
    corpus = make_corpus(member)
    data = corpus_text(6 * CHUNK + 1000)
    path = tmp_path / "comptes-rendus-du-conseil-municipal-de-la-commune-2010-2020.jsonl"
    path.write_bytes(data)

    with browsing(browser, live_server) as page:
        # No script refused by the Content-Security-Policy, no error.
        errors = []
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        traffic = TusTraffic(page)
        open_corpus(page, member, corpus)
        page.evaluate("window.__sameDocument = true")
        page.evaluate(RECORD)
        # Each chunk takes a moment, as on a real network: the speed and time left show.
        page.route(UPLOADS, slowly)
        page.set_input_files("#id_files", str(path))
        page.get_by_role("button", name="Envoyer les fichiers").click()

        row = upload_row(page, path.name)
        expect(row.locator("[data-status]")).to_have_text("Ajouté au corpus.")
        expect(row.locator("progress")).to_have_attribute("value", "100")
        expect(row.get_by_role("button")).to_be_hidden()  # nothing left to pause
        assert page.get_by_label(path.name, exact=True).evaluate("element => element.tagName") == "PROGRESS"
        expect(row.locator("[data-numbers]")).to_have_text(re.compile(r"^([\d,]+\sKio) sur \1$"))
        # The new file is listed: the part of the page swapped in place, not reloaded.
        expect(page.locator("#corpus-files").get_by_role("link", name=path.name)).to_be_visible()
        expect(page.locator("form[data-tus-endpoint] [data-upload-summary]")).to_have_text(
            "Tous les fichiers ont été ajoutés au corpus."
        )
        assert page.evaluate("window.__sameDocument") is True
        # The corpus can be submitted now that it has a file (the actions came back with it).
        expect(page.get_by_role("button", name="Soumettre pour analyse et relecture")).to_be_visible()

        progress = page.evaluate("window.__progress")
        assert progress == sorted(progress) and progress[-1] == 100
        assert len([value for value in progress if 0 < value < 100]) >= 5, progress
        numbers = page.evaluate("window.__numbers")
        assert any(re.fullmatch(r"[\d,]+\s(o|Kio) sur [\d,]+\sKio · [\d,]+\s[KM]io/s · encore \d+ s", text)
                   for text in numbers), numbers
        # Nothing wider than the phone, long file name included.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        assert not page.locator("#id_files").evaluate("input => input.files.length")
        assert errors == []

    assert traffic.methods()[0] == "POST"
    assert traffic.patch_offsets() == [i * CHUNK for i in range(7)]
    stored = CorpusFile.objects.get(corpus=corpus)
    assert stored.original_name == path.name and stored.size == len(data)
    with stored.file.open("rb") as handle:
        assert sha256(handle.read()) == sha256(data) == stored.sha256
    assert ResumableUpload.objects.get().status == ResumableUpload.Status.DONE


def test_a_dropped_connection_is_retried_from_the_servers_offset(browser, live_server, tmp_path):
    from playwright.sync_api import expect

    member = UserFactory()
    corpus = make_corpus(member)
    data = corpus_text(5 * CHUNK + 123)
    path = tmp_path / "conseil.jsonl"
    path.write_bytes(data)

    with browsing(browser, live_server) as page:
        traffic = TusTraffic(page)
        traffic.cut, traffic.cut_after = True, 2
        open_corpus(page, member, corpus)
        page.set_input_files("#id_files", str(path))
        page.get_by_role("button", name="Envoyer les fichiers").click()

        row = upload_row(page, path.name)
        expect(row.locator("[data-status]")).to_have_text(re.compile(r"^Connexion perdue : nouvel essai"))
        upload = ResumableUpload.objects.get()
        assert upload.offset == 2 * CHUNK and upload.status == ResumableUpload.Status.RECEIVING
        # The network comes back: the upload goes on where the server says it is.
        traffic.cut = False
        expect(row.locator("[data-status]")).to_have_text("Ajouté au corpus.", timeout=30_000)
        expect(page.locator("#corpus-files").get_by_role("link", name=path.name)).to_be_visible()

    methods = traffic.methods()
    assert methods.count("POST") == 1 and "HEAD" in methods
    assert "PATCH cut" in methods
    # Every chunk that reached the server went once, in order, from the
    # server's offset after the cut (never from 0 again).
    assert traffic.patch_offsets() == [i * CHUNK for i in range(6)]
    after_cut = traffic.sent[methods.index("PATCH cut"):]
    assert all(offset == 2 * CHUNK for method, offset in after_cut if method == "PATCH cut")
    upload.refresh_from_db()
    assert upload.status == ResumableUpload.Status.DONE and upload.offset == len(data)
    stored = CorpusFile.objects.get(corpus=corpus)
    assert stored.pk == upload.corpus_file_id
    with stored.file.open("rb") as handle:
        assert sha256(handle.read()) == sha256(data)


def slow_network(page, bytes_per_second: int):
    """Chromium's own throttling (DevTools): a chunk takes a while on the way."""
    cdp = page.context.new_cdp_session(page)

    def conditions(*, offline: bool = False, throughput: int = bytes_per_second) -> None:
        cdp.send("Network.emulateNetworkConditions", {
            "offline": offline, "latency": 20, "downloadThroughput": -1, "uploadThroughput": throughput,
        })

    conditions()
    return conditions


def test_offline_then_back_online_resumes_from_the_servers_offset(browser, live_server, tmp_path):
    """The browser goes offline while a file is on its way: the upload says
    so and waits for the network, then asks the server where it is and goes
    on from there."""
    from playwright.sync_api import expect

    member = UserFactory()
    corpus = make_corpus(member)
    data = corpus_text(1024 * KIB)
    path = tmp_path / "conseil-lent.jsonl"
    path.write_bytes(data)

    with browsing(browser, live_server) as page:
        traffic = TusTraffic(page)
        open_corpus(page, member, corpus, chunk_size=256 * KIB)
        network = slow_network(page, 256 * KIB)
        page.set_input_files("#id_files", str(path))
        page.get_by_role("button", name="Envoyer les fichiers").click()

        row = upload_row(page, path.name)
        wait_until(page, "document.querySelector('.upload-row progress').value > 30")
        network(offline=True)
        expect(row.locator("[data-status]")).to_have_text(
            "Connexion perdue : l'envoi reprendra au retour du réseau.")
        # Nothing moves: no speed, no time left.
        expect(row.locator("[data-numbers]")).to_have_text(re.compile(r"^[\d,]+\sKio sur 1\sMio$"))
        page.wait_for_timeout(1000)
        kept = ResumableUpload.objects.get().offset
        assert 0 < kept < len(data)
        network(throughput=-1)
        expect(row.locator("[data-status]")).to_have_text("Ajouté au corpus.", timeout=30_000)

    methods = traffic.methods()
    assert methods.count("POST") == 1
    # Back online: a HEAD, then the next chunk from the server's offset.
    head = methods.index("HEAD")
    assert traffic.sent[head + 1] == ("PATCH", kept)
    stored = CorpusFile.objects.get(corpus=corpus)
    with stored.file.open("rb") as handle:
        assert sha256(handle.read()) == sha256(data)


def test_paused_in_the_middle_of_a_chunk_then_resumed(browser, live_server, tmp_path):
    """Pause stops the request under way: the server keeps the part of the
    chunk that arrived, and Resume goes on from that byte."""
    from playwright.sync_api import expect

    member = UserFactory()
    corpus = make_corpus(member)
    data = corpus_text(1024 * KIB)
    path = tmp_path / "conseil-lent.jsonl"
    path.write_bytes(data)

    with browsing(browser, live_server) as page:
        traffic = TusTraffic(page)
        open_corpus(page, member, corpus, chunk_size=1024 * KIB)
        network = slow_network(page, 256 * KIB)
        page.set_input_files("#id_files", str(path))
        page.get_by_role("button", name="Envoyer les fichiers").click()

        row = upload_row(page, path.name)
        wait_until(page, "document.querySelector('.upload-row progress').value > 40")
        row.get_by_role("button", name=f"Pause {path.name}").click()
        expect(row.locator("[data-status]")).to_have_text("En pause : appuyez sur « Reprendre » pour continuer.")
        page.wait_for_timeout(1000)
        kept = ResumableUpload.objects.get().offset
        assert 0 < kept < len(data)
        network(throughput=-1)
        row.get_by_role("button", name=f"Reprendre {path.name}").click()
        expect(row.locator("[data-status]")).to_have_text("Ajouté au corpus.")

    assert traffic.sent == [("POST", None), ("PATCH", 0), ("HEAD", None), ("PATCH", kept)]
    stored = CorpusFile.objects.get(corpus=corpus)
    with stored.file.open("rb") as handle:
        assert sha256(handle.read()) == sha256(data)


def test_a_file_chosen_again_after_a_reload_resumes_and_can_be_paused(browser, live_server, tmp_path):
    from playwright.sync_api import expect

    member = UserFactory()
    corpus = make_corpus(member)
    data = corpus_text(4 * CHUNK + 5)
    path = tmp_path / "conseil.jsonl"
    path.write_bytes(data)

    with browsing(browser, live_server) as page:
        traffic = TusTraffic(page)
        traffic.cut, traffic.cut_after = True, 2
        open_corpus(page, member, corpus)
        page.set_input_files("#id_files", str(path))
        page.get_by_role("button", name="Envoyer les fichiers").click()
        row = upload_row(page, path.name)
        expect(row.locator("[data-status]")).to_have_text(re.compile(r"^Connexion perdue"))
        # Paused: no more tries until "Resume".
        row.get_by_role("button", name=f"Pause {path.name}").click()
        expect(row.locator("[data-status]")).to_have_text("En pause : appuyez sur « Reprendre » pour continuer.")
        tries = len(traffic.sent)
        page.wait_for_timeout(1500)
        assert len(traffic.sent) == tries

        # The page is left and opened again; the same file chosen again resumes.
        traffic.cut = False
        page.reload()
        page.locator("form[data-tus-endpoint]").evaluate("form => form.setAttribute('data-chunk-size', '65536')")
        page.evaluate(RECORD)
        page.set_input_files("#id_files", str(path))
        page.get_by_role("button", name="Envoyer les fichiers").click()
        row = upload_row(page, path.name)
        expect(row.locator("[data-status]")).to_have_text("Ajouté au corpus.")
        expect(page.locator("#corpus-files").get_by_role("link", name=path.name)).to_be_visible()
        statuses = page.evaluate("window.__statuses")
        assert "Reprise de l'envoi commencé plus tôt…" in statuses
        assert any(re.fullmatch(r"Reprise à 128\sKio sur 256(,\d)?\sKio\.", text) for text in statuses), statuses
        # Done: the browser forgets the upload (a new choice of the file is a new upload).
        assert page.evaluate("Object.keys(localStorage).filter(key => key.startsWith('tus::'))") == []

    methods = traffic.methods()
    assert methods.count("POST") == 1
    assert traffic.patch_offsets() == [0, CHUNK, 2 * CHUNK, 3 * CHUNK, 4 * CHUNK]
    assert ResumableUpload.objects.count() == 1
    stored = CorpusFile.objects.get(corpus=corpus)
    with stored.file.open("rb") as handle:
        assert sha256(handle.read()) == sha256(data)


def test_refused_files_show_the_servers_message_in_english(browser, live_server, tmp_path):
    from playwright.sync_api import expect

    member = UserFactory()
    corpus = make_corpus(member)
    fake = tmp_path / "rapport.txt"
    fake.write_bytes(b"MZ" + bytes(range(256)) * 600)
    program = tmp_path / "programme.exe"
    program.write_bytes(b"MZ\x90\x00" * 100)

    with browsing(browser, live_server, locale="en-US") as page:
        traffic = TusTraffic(page)
        open_corpus(page, member, corpus)
        page.set_input_files("#id_files", [str(fake), str(program)])
        page.get_by_role("button", name="Upload").click()

        # Refused by its content, at the last chunk.
        expect(upload_row(page, fake.name).locator("[data-status]")).to_have_text(
            "Not added: rapport.txt: the content is not text: it looks like a Windows executable")
        # Refused by its name, before any byte.
        expect(upload_row(page, program.name).locator("[data-status]")).to_have_text(
            re.compile(r"^Not added: programme\.exe: unsupported file type"))
        expect(page.locator("[data-upload-summary]")).to_have_text("Files added: 0 of 2.")
        assert page.locator(".upload-row.is-error").count() == 2
        expect(page.locator(".upload-row").get_by_role("button")).to_have_count(0)  # all hidden
        expect(page.get_by_role("button", name="Upload")).to_be_enabled()

    assert traffic.methods().count("POST") == 2
    assert not CorpusFile.objects.exists() and not ResumableUpload.objects.exists()


def test_without_javascript_the_form_posts_the_files(browser, live_server, tmp_path):
    member = UserFactory()
    corpus = make_corpus(member)
    data = corpus_text(3 * CHUNK)
    path = tmp_path / "conseil.jsonl"
    path.write_bytes(data)

    with browsing(browser, live_server, java_script_enabled=False) as page:
        sign_in(page, member)
        page.goto(f"/corpora/{corpus.pk}/")
        page.set_input_files("#id_files", str(path))
        page.get_by_role("button", name="Envoyer les fichiers").click()
        page.wait_for_url(f"**/corpora/{corpus.pk}/")
        assert page.get_by_text("1 fichier ajouté.").is_visible()
        assert page.locator("#corpus-files").get_by_role("link", name="conseil.jsonl").is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

    assert not ResumableUpload.objects.exists()
    stored = CorpusFile.objects.get(corpus=corpus)
    with stored.file.open("rb") as handle:
        assert sha256(handle.read()) == sha256(data)
