"""Headless Chromium (Debian's package) through Playwright, against the live
server and a real worker."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from contributions.models import AgreementAcceptance, User

from .factories import PASSWORD, MaintainerFactory, UserFactory
from .site import demo_site, site_pages

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD_LABEL = re.compile(r"^Mot de passe\W*$")


def sign_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    page.wait_for_url(re.compile(r"/$"))


def wait_until(page, expression: str, timeout: float = 20) -> None:
    """Wait until a JavaScript expression holds. Not page.wait_for_function:
    once it has to poll, it builds its predicate with ``new Function``,
    which the site's Content Security Policy (no 'unsafe-eval') refuses."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"still false after {timeout} s: {expression}"
        page.wait_for_timeout(25)


@contextmanager
def phone(browser, live_server) -> Iterator[object]:
    """A page the size of a 390 px phone."""
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        yield page
    finally:
        context.close()


def test_sign_up_confirm_and_log_in_in_the_browser(page, celery_worker):
    page.goto("/")
    page.get_by_role("link", name="S'inscrire").click()
    page.get_by_label("E-mail").fill("navigateur@example.org")
    page.get_by_label(PASSWORD_LABEL).fill("un-mot-de-passe-solide-42")
    page.get_by_label("Mot de passe (confirmation)").fill("un-mot-de-passe-solide-42")
    page.get_by_label("Nom affiché").fill("Nina Navigatrice")
    page.get_by_label("J'accepte la charte du contributeur").check()
    page.get_by_role("button", name="Création de compte").click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))

    [mail] = celery_worker.wait_for_mail("navigateur@example.org")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", celery_worker.text(mail)).group(0)
    page.goto(link)
    page.get_by_role("button", name="Confirmer").click()
    page.wait_for_url(re.compile(r"/accounts/login/"))

    page.get_by_label("E-mail").fill("navigateur@example.org")
    page.get_by_label(PASSWORD_LABEL).fill("un-mot-de-passe-solide-42")
    page.get_by_role("button", name="Connexion").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("heading", name="Bienvenue, Nina Navigatrice").is_visible()

    user = User.objects.get(email="navigateur@example.org")
    assert AgreementAcceptance.objects.filter(user=user).exists()


def test_log_in_switch_to_english_and_log_out(page):
    user = UserFactory(display_name="Paul Lecteur")
    sign_in(page, user)
    assert page.get_by_role("heading", name="Bienvenue, Paul Lecteur").is_visible()

    page.get_by_label("Langue").select_option("en")
    page.get_by_role("button", name="Changer").click()
    assert page.get_by_role("heading", name="Welcome, Paul Lecteur").is_visible()

    page.get_by_role("link", name="Sign out").click()
    page.get_by_role("button", name="Sign Out").click()
    assert page.get_by_role("link", name="Sign in").is_visible()


def test_member_submits_a_corpus_and_follows_its_analysis(page, celery_worker, tmp_path):
    from .corpora import FRENCH, jsonl

    user = UserFactory()
    corpus_file = tmp_path / "conseil.jsonl"
    corpus_file.write_bytes(jsonl(*FRENCH, "Contact : jeanne@exemple.fr. " + FRENCH[0][:80]))
    sign_in(page, user)

    page.get_by_role("link", name="Soumettre un corpus").click()
    page.get_by_label("Titre").fill("Comptes rendus du conseil")
    page.get_by_label("Description").fill("Procès-verbaux publics.")
    page.locator("#id_license").select_option("etalab-2.0")
    page.locator("#id_domain").select_option("administrative")
    page.get_by_label("URL de la source").fill("https://example.org/pv")
    page.get_by_label("Je détiens les droits").check()
    page.get_by_role("button", name="Créer le corpus").click()
    page.wait_for_url(re.compile(r"/corpora/\d+/$"))

    page.set_input_files("#id_files", str(corpus_file))
    page.get_by_role("button", name="Envoyer les fichiers").click()
    page.get_by_role("link", name="conseil.jsonl").wait_for()
    page.get_by_role("button", name="Soumettre pour analyse et relecture").click()
    # The analysis and the status update in place while the worker runs:
    # the page is never reloaded (the marker would be gone).
    page.evaluate("window.__sameDocument = true")
    page.get_by_text("des documents contiennent une adresse e-mail").wait_for(timeout=60_000)
    page.locator("#corpus-status").get_by_text("En attente de relecture").wait_for()
    assert page.evaluate("window.__sameDocument") is True


def test_reviewer_approves_a_corpus_in_the_browser(page, celery_worker):
    from contributions.jobs import job_run
    from contributions.models import CorpusStatus

    from .corpora import FRENCH, jsonl, submitted

    submitter = UserFactory()
    corpus, run = submitted(submitter, [("conseil.jsonl", jsonl(*FRENCH))], title="Procès-verbaux")
    job_run("analysis", run.id)
    maintainer = MaintainerFactory()
    sign_in(page, maintainer)

    page.get_by_role("link", name="Relecture").click()
    page.get_by_role("link", name="Procès-verbaux", exact=True).click()
    assert page.get_by_text("La bibliothèque propose désormais").first.is_visible()
    page.get_by_label("Approuver").check()
    page.get_by_label("Commentaire").fill("Corpus propre, licence claire.")
    page.get_by_role("button", name="Enregistrer ma décision").click()
    page.wait_for_url(re.compile(r"/review/$"))
    assert page.get_by_text("Décision enregistrée").is_visible()
    corpus.refresh_from_db()
    assert corpus.status in {CorpusStatus.APPROVED, CorpusStatus.QUEUED_FOR_TRAINING}


def test_operations_page_on_a_phone_updates_in_place(browser, live_server):
    from django.core.mail import EmailMessage
    from django.utils import timezone

    from contributions import emails
    from contributions.models import JobStatus, OutgoingEmail

    maintainer = MaintainerFactory()
    with phone(browser, live_server) as page:
        sign_in(page, maintainer)
        # On a phone the maintainers' links are behind the menu (a <details>, no script).
        page.locator(".nav-menu summary").click()
        page.get_by_role("link", name="Exploitation").click()
        page.get_by_role("heading", name="Tâches par type").wait_for()
        page.evaluate("window.__sameDocument = true")

        # A job fails while the page is open: it shows up without a reload.
        [row] = emails.email_queue(message=EmailMessage("Bienvenue", "x", "site@example.org", ["x@example.org"]))
        OutgoingEmail.objects.filter(pk=row.pk).update(
            status=JobStatus.FAILED, attempt=5, error="SMTPServerDisconnected: perdu", finished_at=timezone.now()
        )
        page.get_by_text("SMTPServerDisconnected: perdu").wait_for()
        assert page.evaluate("window.__sameDocument") is True
        # Nothing is wider than the phone: wide tables scroll in their box.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        page.get_by_role("button", name=re.compile(rf"Réessayer .* #{row.pk}")).click()
        page.get_by_text("La tâche est de nouveau en file d'attente.").wait_for()
        row.refresh_from_db()
        # Queued again with a fresh set of attempts (a worker may already have sent it).
        assert row.attempt_base == 5 and row.status != JobStatus.FAILED


def test_every_page_fits_a_phone(browser, live_server):
    from contributions import moderation

    from .corpora import FRENCH, analysed, jsonl

    maintainer = MaintainerFactory()
    member = UserFactory()
    corpus, _run = analysed(member, [("conseil.jsonl", jsonl(*FRENCH))], title="Procès-verbaux du conseil municipal")
    moderation.user_suspend(actor=maintainer, user=UserFactory(), reason="Un motif assez long " * 5)
    with phone(browser, live_server) as page:
        sign_in(page, maintainer)
        too_wide = {}
        for url in [
            "/", "/data/", "/releases/", "/removal/", "/corpora/", "/corpora/new/", f"/corpora/{corpus.pk}/",
            "/review/", f"/review/{corpus.pk}/", "/maintainers/training-queue/", "/maintainers/operations/",
            "/maintainers/roles/", "/maintainers/reports/", "/maintainers/removals/", "/maintainers/reviewers/",
            f"/maintainers/members/{member.pk}/suspend/", "/notifications/", "/profile/",
        ]:
            page.goto(url)
            width = page.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                too_wide[url] = width
        assert too_wide == {}


# ---------------------------------------------------------------- live parts, the dashboard, phones


def _running_analysis(member, percent: int):
    from django.utils import timezone

    from contributions.models import AnalysisRun, Corpus, CorpusStatus, JobStatus

    from .corpora import FRENCH, jsonl, submitted

    corpus, run = submitted(member, [("conseil.jsonl", jsonl(*FRENCH))], title="Procès-verbaux en cours")
    Corpus.objects.filter(pk=corpus.pk).update(status=CorpusStatus.PROCESSING)
    AnalysisRun.objects.filter(pk=run.pk).update(
        status=JobStatus.RUNNING, progress_done=percent, progress_total=100, documents_done=percent,
        started_at=timezone.now(), heartbeat_at=timezone.now(),
    )
    return corpus, run


def test_a_typed_comment_and_its_focus_survive_a_progress_update(page):
    from playwright.sync_api import expect

    from contributions.models import AnalysisRun

    member = UserFactory()
    corpus, run = _running_analysis(member, 10)
    sign_in(page, member)
    page.goto(f"/corpora/{corpus.pk}/")
    progress = page.locator("#analysis progress")
    assert progress.get_attribute("value") == "10"
    page.evaluate("window.__sameDocument = true")

    box = page.get_by_label("Message")
    box.click()
    box.press_sequentially("Merci pour la relecture : je précise la source")
    AnalysisRun.objects.filter(pk=run.pk).update(progress_done=70, documents_done=70)
    expect(progress).to_have_attribute("value", "70")
    assert re.search(r"\b70 %", page.locator("#analysis").inner_text())

    # Same page, same text, same focus, same caret: typing goes on where it was.
    assert page.evaluate("window.__sameDocument") is True
    assert page.evaluate("document.activeElement.id") == "id_body"
    box.press_sequentially(" ci-dessous.")
    assert box.input_value() == "Merci pour la relecture : je précise la source ci-dessous."


def test_dashboard_progress_and_unread_count_update_in_place(page):
    from playwright.sync_api import expect

    from contributions.models import AnalysisRun, Notification

    member = UserFactory()
    _corpus, run = _running_analysis(member, 20)
    sign_in(page, member)
    page.clock.install()
    page.goto("/dashboard/")
    page.evaluate("window.__sameDocument = true")
    assert page.locator("#dashboard-corpora progress").get_attribute("value") == "20"
    assert page.locator("#unread-count").inner_text() == ""

    AnalysisRun.objects.filter(pk=run.pk).update(progress_done=55)
    page.clock.run_for(2_500)
    expect(page.locator("#dashboard-corpora progress")).to_have_attribute("value", "55")

    # The count asks every 30 s: a new notification shows without a reload.
    Notification.objects.create(user=member, kind=Notification.Kind.MESSAGE, message="Bonjour")
    page.clock.run_for(31_000)
    expect(page.locator("#unread-count")).to_have_text(re.compile(r"^\s*1\b"))
    assert page.evaluate("window.__sameDocument") is True


def test_a_live_part_changes_only_what_changed(page):
    """The new HTML is laid over the old node by node: the rest of the part
    stays the same nodes (a screen reader's place in it, or a selection,
    stays; aria-live reads out only the change)."""
    from playwright.sync_api import expect

    from contributions.models import AnalysisRun

    member = UserFactory()
    _corpus, run = _running_analysis(member, 20)
    sign_in(page, member)
    page.clock.install()
    page.goto("/dashboard/")
    row = "document.querySelector('#dashboard-corpora tbody tr')"
    progress = "document.querySelector('#dashboard-corpora progress')"
    page.evaluate(f"{row}.__mark = 'row'; {progress}.__mark = 'progress'")
    with page.expect_response(lambda response: "/dashboard/live/" in response.url):
        page.clock.run_for(2_500)
    page.wait_for_timeout(200)
    assert page.evaluate(f"[{row}.__mark, {progress}.__mark]") == ["row", "progress"]

    AnalysisRun.objects.filter(pk=run.pk).update(progress_done=80, documents_done=80)
    with page.expect_response(lambda response: "/dashboard/live/" in response.url):
        page.clock.run_for(2_500)
    expect(page.locator("#dashboard-corpora progress")).to_have_attribute("value", "80")
    expect(page.locator("#dashboard-corpora .progress-cell")).to_contain_text("80")
    assert page.evaluate(f"[{row}.__mark, {progress}.__mark]") == ["row", "progress"]


def test_live_parts_wait_while_the_tab_is_hidden(page):
    member = UserFactory()
    sign_in(page, member)
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/notifications/live/" in request.url else None)
    page.clock.install()
    page.goto("/dashboard/")
    page.clock.run_for(31_000)
    page.wait_for_timeout(300)
    assert len(asked) == 1

    hide = """hidden => {
        Object.defineProperty(document, "hidden", {configurable: true, get: () => hidden});
        document.dispatchEvent(new Event("visibilitychange"));
    }"""
    page.evaluate(hide, True)
    page.clock.run_for(5 * 60_000)
    page.wait_for_timeout(300)
    assert len(asked) == 1  # five minutes hidden: nothing asked
    with page.expect_request(lambda request: "/notifications/live/" in request.url):
        page.evaluate(hide, False)
    assert len(asked) == 2  # asked at once when the tab shows again


def test_without_javascript_the_phone_menu_and_the_dashboard_work(browser, live_server):
    member = UserFactory()
    corpus, _run = _running_analysis(member, 40)
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", viewport={"width": 390, "height": 844}, java_script_enabled=False
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        sign_in(page, member)
        page.locator(".nav-menu summary").click()
        page.locator(".nav-menu").get_by_role("link", name="Mes corpus").click()
        page.wait_for_url("**/corpora/")
        page.goto("/dashboard/")
        # What the server rendered: the progress as it is now, and a link to the corpus.
        assert page.locator("#dashboard-corpora progress").get_attribute("value") == "40"
        page.locator(f'#dashboard-corpora a[href="/corpora/{corpus.pk}/"]').click()
        page.wait_for_url(f"**/corpora/{corpus.pk}/")
        assert page.locator("#analysis progress").get_attribute("value") == "40"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    finally:
        context.close()


# The demo site and its pages are shared with the other tests that go through every page.
_demo_site, _site_pages = demo_site, site_pages


def test_every_page_fits_a_phone_for_every_role(browser, live_server):
    """At 390 px, nothing is wider than the screen: not for a visitor, a
    member, a reviewer or a maintainer, with the phone menu open or shut."""
    from django.test import Client

    site = _demo_site()
    urls = _site_pages(site)
    too_wide, seen = {}, {}
    for role in ["anonymous", "member", "reviewer", "maintainer"]:
        user = site.get(role)
        client = Client()
        if user:
            client.force_login(user)
        # Pages only: no JSON, no download, no form handler, nothing this role may not open.
        pages = []
        for url in urls:
            response = client.get(url)
            if response.status_code == 200 and response["Content-Type"].startswith("text/html"):
                pages.append(url)
        seen[role] = len(pages)
        with phone(browser, live_server) as page:
            if user:
                sign_in(page, user)
            for url in pages:
                if url == "/accounts/logout/":
                    continue  # visited last, below: nothing after it would be signed in
                page.goto(url)
                width = page.evaluate("document.documentElement.scrollWidth")
                if width > 390:
                    too_wide[f"{role} {url}"] = width
            if user:
                page.goto("/dashboard/")
                page.locator(".nav-menu summary").click()
                assert page.locator(".nav-menu").get_by_role("link").first.is_visible()
                if (width := page.evaluate("document.documentElement.scrollWidth")) > 390:
                    too_wide[f"{role} menu open"] = width
    assert too_wide == {}
    # Enough was seen to mean something: the public pages, then more with each role.
    assert 10 <= seen["anonymous"] < seen["member"] < seen["reviewer"] < seen["maintainer"]


def _browse_catalogue_to_explorer(page, corpus, explorer: str, language: str) -> list[str]:
    """Catalogue, corpus page, release page, explorer, and the corpus's rows
    in it: the pages seen, each checked for its language and its width."""
    width = page.viewport_size["width"]
    visited = []

    def check(where: str) -> None:
        assert page.evaluate("document.documentElement.lang") == language, where
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{where} at {width} px ({language}) is {scroll} px wide"
        visited.append(page.url)

    page.goto("/data/")
    check("the catalogue")
    page.locator(f'main a[href="/data/{corpus.pk}/"]').first.click()
    page.wait_for_url(f"**/data/{corpus.pk}/")
    check("the corpus page")
    page.locator('main a[href="/releases/demo-1/"]').first.click()
    page.wait_for_url("**/releases/demo-1/")
    check("the release page")
    links = page.locator(f'main a[href^="{explorer}"]')
    # The issue asks for release page -> explorer: each config of the release links to its rows.
    assert links.count(), "the release page has no link to its rows in the explorer (contributions:explore_release)"
    links.first.click()
    page.wait_for_url(f"**{explorer}**")
    check("the explorer")
    # The corpus's own rows, from its page, the way "where my text went" links them.
    page.goto(f"/data/{corpus.pk}/")
    page.locator(f'main a[href^="{explorer}"][href*="corpus={corpus.pk}"]').first.click()
    page.wait_for_url(f"**corpus={corpus.pk}**")
    check("the explorer, on the corpus's rows")
    assert page.locator("main table tbody tr").count() > 0, "the explorer shows no row of the corpus"
    return visited


@pytest.mark.parametrize("width", [1280, 390])
@pytest.mark.parametrize("locale", ["fr-FR", "en-US"])
def test_catalogue_corpus_release_explorer_in_both_languages_on_a_desktop_and_a_phone(
    browser, live_server, locale, width
):
    """A visitor goes from the catalogue to a corpus, to a release that
    carries it, to its rows in the explorer: in French and in English, at
    1280 and 390 px, nothing is wider than the screen."""
    from django.urls import NoReverseMatch, reverse

    try:
        explorer = reverse("contributions:explore_release", args=["demo-1", "open"]).removesuffix("open/")
    except NoReverseMatch:
        pytest.skip("the data explorer (URL contributions:explore_release) is not there yet")
    site = _demo_site()
    corpus = site["member"].corpora.filter(releases=site["release"]).order_by("id").first()
    context = browser.new_context(
        base_url=live_server.url, locale=locale, viewport={"width": width, "height": 900 if width > 390 else 844}
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    try:
        visited = _browse_catalogue_to_explorer(page, corpus, explorer, language=locale[:2])
    finally:
        context.close()
    assert len(visited) == 5


def _contrast(first: tuple[float, ...], second: tuple[float, ...]) -> float:
    def luminance(rgb: tuple[float, ...]) -> float:
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (v / 255 for v in rgb)]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted([luminance(first), luminance(second)], reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_form_controls_stand_out_at_three_to_one(browser, live_server):
    """WCAG 1.4.11: the border of a text box, a select and a text area
    against the page's background and the control's own."""
    context = browser.new_context(base_url=live_server.url, locale="fr-FR")
    page = context.new_page()
    page.goto("/removal/")

    def rgb(css: str) -> tuple[float, ...]:
        return tuple(float(v) for v in re.findall(r"[\d.]+", css)[:3])

    controls = page.locator("input[type=email], input[type=text], select, textarea")
    assert controls.count() >= 2
    body = rgb(page.evaluate("getComputedStyle(document.body).backgroundColor"))
    for i in range(controls.count()):
        style = controls.nth(i).evaluate(
            "e => [getComputedStyle(e).borderTopColor, getComputedStyle(e).backgroundColor]"
        )
        border, inside = rgb(style[0]), rgb(style[1])
        assert _contrast(border, body) >= 3 and _contrast(border, inside) >= 3, style
    context.close()
