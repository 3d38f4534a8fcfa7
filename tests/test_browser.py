"""Headless Chromium (Debian's package) through Playwright, against the live
server and a real worker."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from contributions.models import AgreementAcceptance, User

from .factories import PASSWORD, MaintainerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD_LABEL = re.compile(r"^Mot de passe\W*$")


def sign_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label(PASSWORD_LABEL).fill(PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    page.wait_for_url(re.compile(r"/$"))


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
    assert page.get_by_role("link", name="conseil.jsonl").is_visible()
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
    page.get_by_role("link", name="Procès-verbaux").click()
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
