"""Behaviour that needs the real broker and a real worker process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from contributions import emails, jobs
from contributions.models import JobStatus, OutgoingEmail, User

from .conftest import ROOT, child_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for_status(email_id: int, status: str, timeout: float = 30) -> OutgoingEmail:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = OutgoingEmail.objects.get(id=email_id)
        if row.status == status:
            return row
        time.sleep(0.2)
    raise AssertionError(f"email {email_id} still {row.status}")


def test_email_is_delivered_by_the_worker_after_commit(celery_worker):
    with transaction.atomic():
        [row] = emails.email_queue(
            message=EmailMessage("Bonjour", "Un message accentué : é à ç.", "site@example.org", ["lea@example.org"])
        )
    row = wait_for_status(row.id, JobStatus.DONE)
    [mail] = celery_worker.wait_for_mail("lea@example.org")
    assert mail["Subject"] == "Bonjour"
    assert celery_worker.text(mail).strip() == "Un message accentué : é à ç."
    # One-time links do not stay in the database once delivered.
    assert row.body_text == "" and row.sent_at is not None and row.attempts == 1


def test_a_message_delivered_twice_sends_one_email(celery_worker):
    with transaction.atomic():
        [row] = emails.email_queue(message=EmailMessage("Une fois", "x", "site@example.org", ["once@example.org"]))
    wait_for_status(row.id, JobStatus.DONE)
    from contributions.tasks import deliver_email

    deliver_email.delay(row.id)
    marker = EmailMessage("Témoin", "x", "site@example.org", ["once@example.org"])
    with transaction.atomic():
        [witness] = emails.email_queue(message=marker)
    wait_for_status(witness.id, JobStatus.DONE)  # the queue is FIFO with one worker
    subjects = [m["Subject"] for m in celery_worker.mails("once@example.org")]
    assert sorted(subjects) == ["Témoin", "Une fois"]


def test_a_lost_broker_message_is_found_again_by_the_sweeper(celery_worker):
    # The row was committed but its message never reached the broker (Redis
    # restarted, say): the sweeper sends it again.
    row = OutgoingEmail.objects.create(
        to="lost@example.org", subject="Retrouvé", body_text="x", from_email="site@example.org",
        created_at=timezone.now() - timedelta(minutes=5),
    )
    assert jobs.jobs_requeue_stale() == 1
    wait_for_status(row.id, JobStatus.DONE)
    assert len(celery_worker.wait_for_mail("lost@example.org")) == 1


def test_signup_confirmation_and_login_through_the_worker(client, celery_worker):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "worker-path@example.org",
            "password1": "un-mot-de-passe-solide-42",
            "password2": "un-mot-de-passe-solide-42",
            "display_name": "Par le worker",
            "accept_agreement": "on",
        },
    )
    assert response.status_code == 302
    [mail] = celery_worker.wait_for_mail("worker-path@example.org")
    confirm = re.search(r"https?://[^/\s]+(/accounts/confirm-email/\S+/)", celery_worker.text(mail)).group(1)
    assert client.post(confirm).status_code == 302
    client.post(reverse("account_login"), {"login": "worker-path@example.org", "password": "un-mot-de-passe-solide-42"})
    assert client.session["_auth_user_id"] == str(User.objects.get(email="worker-path@example.org").pk)


def test_healthz_is_ok_with_a_worker(client, celery_worker):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "broker": "ok", "workers": "ok"}


def test_healthcheck_fails_when_the_broker_is_down(celery_worker):
    result = subprocess.run(
        [sys.executable, "manage.py", "healthcheck"],
        cwd=ROOT, env=child_env(CELERY_BROKER_URL="redis://127.0.0.1:9/0"), capture_output=True, text=True,
        timeout=60,
    )
    assert result.returncode == 1
    state = json.loads(result.stdout)
    assert state["database"] == "ok"
    assert state["broker"].startswith("error")


def test_healthz_is_503_when_no_worker_answers(client, celery_worker):
    celery_worker.stop()
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["workers"].startswith("error")
        assert response.json()["database"] == "ok"
    finally:
        celery_worker.restart()

