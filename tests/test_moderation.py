"""Moderation of accounts, the last-maintainer rule, account deletion, and the
notifications every event that concerns a member sends."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import translation

from contributions import accounts, moderation, releases, review
from contributions.jobs import job_run
from contributions.models import (
    AbuseReport,
    AccountEvent,
    Corpus,
    CorpusFile,
    CorpusStatus,
    Decision,
    Notification,
    OutgoingEmail,
    TrainingVersion,
    User,
)

from .corpora import FRENCH, add_file, analysed, jsonl, make_corpus, submitted
from .factories import PASSWORD, MaintainerFactory, UserFactory, signed_in

pytestmark = pytest.mark.django_db


def emails_to(user) -> list[OutgoingEmail]:
    return list(OutgoingEmail.objects.filter(to=user.email))


# ---------------------------------------------------------------- suspension


def test_suspension_asks_for_a_reason_and_a_confirmation(client, member, maintainer):
    client.force_login(maintainer)
    url = reverse("contributions:member_suspend", args=[member.pk])
    page = client.get(url)
    assert page.status_code == 200 and member.email in page.content.decode()
    # No reason, or no confirmation: nothing happens, the form says why.
    for data in ({"confirm": "on"}, {"reason": "Spam répété."}):
        response = client.post(url, data)
        assert response.status_code == 200 and response.context["form"].errors
    member.refresh_from_db()
    assert member.is_active and not AccountEvent.objects.exists()
    response = client.post(url, {"reason": "Spam répété.", "confirm": "on"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert not member.is_active
    [event] = AccountEvent.objects.all()
    assert (event.user, event.actor, event.kind, event.reason) == (member, maintainer, "suspended", "Spam répété.")


def test_the_suspended_member_is_told_why_by_email(member, maintainer):
    moderation.user_suspend(actor=maintainer, user=member, reason="Contenus offensants.")
    [email] = emails_to(member)
    assert "Contenus offensants." in email.body_text
    assert Notification.objects.get(user=member).kind == Notification.Kind.SUSPENDED


def test_a_suspension_is_lifted_and_the_member_signs_in_again(client, member, maintainer):
    moderation.user_suspend(actor=maintainer, user=member, reason="Erreur.")
    client.force_login(maintainer)
    response = client.post(reverse("contributions:member_reinstate", args=[member.pk]), {"reason": "Vérifié."})
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.is_active
    assert list(AccountEvent.objects.order_by("id").values_list("kind", flat=True)) == ["suspended", "reinstated"]
    visitor = Client()
    visitor.post(reverse("account_login"), {"login": member.email, "password": PASSWORD})
    assert visitor.session["_auth_user_id"] == str(member.pk)
    with pytest.raises(ValidationError):
        moderation.user_reinstate(actor=maintainer, user=member)


def test_the_roles_page_shows_who_is_suspended_and_why(client, member, other_member, maintainer):
    moderation.user_suspend(actor=maintainer, user=member, reason="Spam répété sur les commentaires.")
    client.force_login(maintainer)
    with translation.override("fr"):
        html = client.get(reverse("contributions:roles"), headers={"accept-language": "fr"}).content.decode()
    assert "Suspendu" in html and "Spam répété sur les commentaires." in html
    suspended = client.get(reverse("contributions:roles"), {"status": "suspended"}).context["page"]
    assert [m.pk for m in suspended] == [member.pk]


def test_roles_page_query_count_does_not_grow(client, maintainer, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    signed_in(client, maintainer)
    for _ in range(2):
        moderation.user_suspend(actor=maintainer, user=UserFactory(), reason="x")
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("contributions:roles"))
    for _ in range(6):
        moderation.user_suspend(actor=maintainer, user=UserFactory(), reason="x")
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("contributions:roles"))
    assert len(many) == len(few)


def test_a_maintainer_cannot_suspend_themselves(maintainer):
    with pytest.raises(ValidationError):
        moderation.user_suspend(actor=maintainer, user=maintainer, reason="x")


# ---------------------------------------------------------------- the last active maintainer


def test_suspending_the_only_other_maintainer_then_leaving_is_refused(maintainer):
    other = MaintainerFactory()
    moderation.user_suspend(actor=maintainer, user=other, reason="Compte compromis.")
    # The suspended maintainer cannot act: the site would have none.
    with pytest.raises(ValidationError):
        accounts.user_delete(user=maintainer)
    with pytest.raises(ValidationError):
        accounts.role_set(actor=maintainer, user=maintainer, role="member")
    assert User.objects.filter(pk=maintainer.pk).exists()


def test_the_admin_cannot_delete_the_last_active_maintainer(client, maintainer):
    client.force_login(maintainer)
    response = client.post(reverse("admin:contributions_user_delete", args=[maintainer.pk]), {"post": "yes"})
    assert response.status_code == 403
    assert User.objects.filter(pk=maintainer.pk).exists()


def test_the_admin_deletes_a_member_through_the_same_rules(client, member, maintainer):
    corpus = make_corpus(member)
    add_file(corpus, "a.txt", FRENCH[0])
    client.force_login(maintainer)
    client.post(reverse("admin:contributions_user_delete", args=[member.pk]), {"post": "yes"})
    assert not User.objects.filter(pk=member.pk).exists()
    assert not Corpus.objects.filter(pk=corpus.pk).exists()


# ---------------------------------------------------------------- deleting an account


def test_deleting_an_account_deletes_its_drafts_and_their_files(client, member, django_capture_on_commit_callbacks):
    draft = make_corpus(member)
    stored = add_file(draft, "brouillon.txt", FRENCH[0])
    name = stored.file.name
    assert default_storage.exists(name)
    published, _run = analysed(member, [("a.jsonl", jsonl(*FRENCH))])
    Corpus.objects.filter(pk=published.pk).update(status=CorpusStatus.APPROVED)
    on_its_way, _run = submitted(member, [("b.jsonl", jsonl(FRENCH[0]))])
    client.force_login(member)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("contributions:profile_delete"), {"confirm": "on"})
    assert not Corpus.objects.filter(pk=draft.pk).exists()
    assert not CorpusFile.objects.filter(pk=stored.pk).exists() and not default_storage.exists(name)
    # Accepted data stays under the pseudonym; what nobody would follow up is withdrawn.
    published.refresh_from_db()
    on_its_way.refresh_from_db()
    assert published.status == CorpusStatus.APPROVED and published.submitter_pseudonym == member.pseudonym
    assert on_its_way.status == CorpusStatus.WITHDRAWN


# ---------------------------------------------------------------- notifications


def test_a_role_change_is_notified(member, maintainer):
    accounts.role_set(actor=maintainer, user=member, role="reviewer")
    [notification] = Notification.objects.filter(user=member)
    assert notification.kind == Notification.Kind.ROLE_CHANGED
    assert notification.params == {"role": "reviewer", "old": "member"}
    assert emails_to(member)


def test_unpublishing_is_notified_to_the_submitter(member, other_member, maintainer):
    corpus, _run = analysed(member, [("a.jsonl", jsonl(*FRENCH))])
    Corpus.objects.filter(pk=corpus.pk).update(status=CorpusStatus.APPROVED)
    report = AbuseReport.objects.create(corpus=corpus, reporter=other_member, reason="copyright")
    moderation.abuse_resolve(report=report, maintainer=maintainer, action="unpublish", comment="Texte sous droits.")
    [notification] = Notification.objects.filter(user=member)
    assert notification.kind == Notification.Kind.UNPUBLISHED and notification.corpus == corpus
    assert "Texte sous droits." in emails_to(member)[0].body_text


def test_a_release_containing_a_corpus_is_notified_with_its_count(member, maintainer):
    corpus, _run = analysed(member, [("a.jsonl", jsonl(*FRENCH))])
    review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    job_run("training", TrainingVersion.objects.get(corpus=corpus).id)
    release = releases.release_create(actor=maintainer, version="2026-12")
    job_run("release", release.id)
    released = Notification.objects.get(user=member, kind=Notification.Kind.RELEASED)
    assert released.params == {"title": corpus.title, "release": "2026-12", "documents": 3}


@pytest.mark.parametrize(
    ("kind", "params", "french", "english"),
    [
        ("released", {"title": "Contes", "release": "2026-12", "documents": 1},
         "Votre corpus Contes est dans la publication 2026-12 : 1 document.",
         "Your corpus Contes is in the release 2026-12: 1 document."),
        ("released", {"title": "Contes", "release": "2026-12", "documents": 3},
         "Votre corpus Contes est dans la publication 2026-12 : 3 documents.",
         "Your corpus Contes is in the release 2026-12: 3 documents."),
        ("role_changed", {"role": "reviewer", "old": "member"},
         "Votre rôle est désormais « Relecteur » (il était « Membre »).",
         "Your role is now “Reviewer” (it was “Member”)."),
        ("reinstated", {}, "La suspension de votre compte est levée : vous pouvez de nouveau vous connecter.",
         "The suspension of your account was lifted: you can sign in again."),
    ],
)
def test_notifications_are_put_into_words_in_the_readers_language(client, member, kind, params, french, english):
    Notification.objects.create(user=member, kind=kind, params=params)
    client.force_login(member)
    for language, expected in (("fr", french), ("en", english)):
        client.cookies["django_language"] = language
        html = client.get(reverse("contributions:notifications")).content.decode()
        assert expected.replace("“", "&ldquo;").replace("”", "&rdquo;") in html or expected in html, language


def test_notifications_written_before_kinds_still_show(client, member):
    Notification.objects.create(user=member, message="Un ancien message.")
    client.force_login(member)
    assert "Un ancien message." in client.get(reverse("contributions:notifications")).content.decode()


def test_emails_reach_failed_after_their_attempts(settings):
    from django.core.mail import EmailMessage

    from contributions import emails
    from contributions.jobs import Outcome
    from contributions.models import JobStatus

    settings.EMAIL_BACKEND = "tests.test_moderation.RefusingBackend"
    [row] = emails.email_queue(message=EmailMessage("Objet", "x", "site@example.org", ["x@example.org"]))
    outcomes = []
    for _ in range(5):
        OutgoingEmail.objects.filter(pk=row.pk).update(run_after=row.created_at)
        outcomes.append(job_run("email", row.pk))
    row.refresh_from_db()
    assert outcomes == [Outcome.REQUEUED] * 4 + [Outcome.FAILED]
    assert row.status == JobStatus.FAILED and row.attempt == 5 and "SMTP refused" in row.error
    assert not mail.outbox


class RefusingBackend:
    def __init__(self, *args, **kwargs) -> None:
        pass

    def send_messages(self, messages):
        raise OSError("SMTP refused")


def test_two_maintainers_suspending_each_other_at_once_leave_one(maintainer):
    from django.core.exceptions import PermissionDenied

    other = MaintainerFactory()
    stale_other = User.objects.get(pk=other.pk)  # the second request loaded it before the first landed
    moderation.user_suspend(actor=maintainer, user=other, reason="Compte compromis.")
    with pytest.raises(PermissionDenied):
        moderation.user_suspend(actor=stale_other, user=maintainer, reason="Représailles.")
    maintainer.refresh_from_db()
    assert maintainer.is_active and accounts.active_maintainers() == [maintainer.pk]
