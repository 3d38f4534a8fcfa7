"""The operations page: what maintainers see and steer of the background work."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.mail import EmailMessage
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from contributions import emails, operations
from contributions.models import AnalysisRun, CorpusFile, JobStatus, OutgoingEmail

from .corpora import FRENCH, jsonl, submitted
from .factories import signed_in

pytestmark = pytest.mark.django_db


def failed_email(subject="Objet") -> OutgoingEmail:
    [row] = emails.email_queue(message=EmailMessage(subject, "x", "site@example.org", ["x@example.org"]))
    OutgoingEmail.objects.filter(pk=row.pk).update(
        status=JobStatus.FAILED, attempt=5, error="SMTPServerDisconnected: lost", finished_at=timezone.now()
    )
    return row


def test_the_page_shows_each_kind_failed_jobs_and_storage(client, maintainer, member):
    corpus, run = submitted(member, [("a.jsonl", jsonl(*FRENCH))])
    AnalysisRun.objects.filter(pk=run.pk).update(run_after=timezone.now() - timedelta(minutes=7))
    failed_email("Bienvenue")
    client.force_login(maintainer)
    response = client.get(reverse("contributions:operations"), headers={"accept-language": "en"})
    assert response.status_code == 200
    ops = response.context["ops"]
    by_kind = {summary.kind.name: summary for summary in ops.kinds}
    assert (by_kind["analysis"].queued, by_kind["analysis"].running, by_kind["analysis"].failed) == (1, 0, 0)
    assert by_kind["analysis"].oldest_queued_seconds >= 7 * 60
    assert (by_kind["email"].failed, by_kind["training"].queued) == (1, 0)
    assert ops.storage["uploads"] == CorpusFile.objects.get(corpus=corpus).size
    html = response.content.decode()
    assert "SMTPServerDisconnected: lost" in html and "5 / 5" in html and "Bienvenue" in html
    assert reverse("contributions:job_retry", args=["email", OutgoingEmail.objects.get(status="failed").pk]) in html
    assert reverse("contributions:job_cancel", args=["analysis", run.pk]) in html
    # The broker answers (the tests' own), though no worker runs here.
    assert isinstance(ops.queue_length, int)


def test_the_page_is_linked_from_the_maintainers_menu_only(client, maintainer, reviewer):
    url = reverse("contributions:operations")
    client.force_login(maintainer)
    assert url in client.get(reverse("contributions:home")).content.decode()
    client.force_login(reviewer)
    assert url not in client.get(reverse("contributions:home")).content.decode()


def test_retry_and_cancel_from_the_page(client, maintainer, member):
    row = failed_email()
    _corpus, run = submitted(member, [("a.jsonl", jsonl(*FRENCH))])
    client.force_login(maintainer)
    assert client.post(reverse("contributions:job_retry", args=["email", row.pk])).status_code == 302
    row.refresh_from_db()
    assert row.status == JobStatus.QUEUED and row.attempt_base == 5
    assert client.post(reverse("contributions:job_cancel", args=["analysis", run.pk])).status_code == 302
    run.refresh_from_db()
    run.corpus.refresh_from_db()
    assert run.status == JobStatus.CANCELLED and run.corpus.status == "failed"
    # A second cancel, or a retry of a queued job, says so instead of failing.
    response = client.post(reverse("contributions:job_cancel", args=["analysis", run.pk]), follow=True)
    assert response.status_code == 200 and list(response.context["messages"])
    response = client.post(reverse("contributions:job_retry", args=["email", row.pk]), follow=True)
    assert response.status_code == 200 and list(response.context["messages"])
    assert client.post(reverse("contributions:job_retry", args=["nothing", 1])).status_code == 404


def test_the_query_count_does_not_grow_with_the_jobs(client, maintainer, member):
    signed_in(client, maintainer)
    submitted(member, [("a.jsonl", jsonl(FRENCH[0]))])
    failed_email()
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("contributions:operations_live"))
    for _ in range(4):
        submitted(member, [("a.jsonl", jsonl(FRENCH[0]))])
        failed_email()
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("contributions:operations_live"))
    assert len(many) == len(few)
    assert set(response.json()["parts"]) == {"operations"}


def test_running_jobs_no_worker_claims_are_listed_apart(member):
    _corpus, run = submitted(member, [("a.jsonl", jsonl(*FRENCH))])
    AnalysisRun.objects.filter(pk=run.pk).update(
        status=JobStatus.RUNNING, attempt=1, heartbeat_at=timezone.now() - timedelta(minutes=1), worker="gone:1"
    )
    ops = operations.operations_overview(inspect_timeout=0.3)
    assert [line.job.pk for line in ops.unassigned] == [run.pk]
    assert ops.unassigned[0].heartbeat_age >= 60


def test_with_the_broker_down_the_workers_are_not_asked(monkeypatch):
    asked = []
    monkeypatch.setattr(operations, "queue_length", lambda: None)
    monkeypatch.setattr(operations, "_active_tasks", lambda timeout: asked.append(timeout))
    ops = operations.operations_overview()
    assert ops.workers is None and ops.queue_length is None and asked == []


def test_the_workers_are_asked_once_for_all_pages_within_a_few_seconds(monkeypatch):
    asked = []

    def active(timeout):
        asked.append(timeout)
        return {"w1@host": []}

    monkeypatch.setattr(operations, "_active_tasks", active)
    for _ in range(3):
        assert [w.name for w in operations.operations_overview().workers] == ["w1@host"]
    assert len(asked) == 1
