from __future__ import annotations

import os
import time

import pytest
from django.core.management import call_command

from contributions.models import Corpus, CorpusStatus, JobStatus, Release


def test_demo_data_goes_through_the_real_pipeline_once(db, capsys):
    call_command("seed_demo")
    call_command("seed_demo")
    statuses = sorted(Corpus.objects.values_list("status", flat=True))
    assert statuses == [CorpusStatus.AWAITING_REVIEW, CorpusStatus.RELEASED, CorpusStatus.RELEASED]
    release = Release.objects.get()
    assert release.version == "demo-1" and release.public and release.status == JobStatus.DONE
    entries = {e.corpus.title: (e.documents, e.masked) for e in release.entries.select_related("corpus")}
    # 60 and 40 generated documents; one in fifteen carries an email address.
    assert entries == {"Comptes rendus municipaux (démo)": (60, 4), "Chroniques de quartier (démo)": (40, 3)}


def test_accounts_only_leaves_the_data_out(db):
    call_command("seed_demo", "--accounts-only")
    assert not Corpus.objects.exists()


@pytest.mark.parametrize(("addrport", "url"), [
    ("127.0.0.1:8011", "http://127.0.0.1:8011"), ("8012", "http://127.0.0.1:8012"), ("[::1]:8000", "http://[::1]:8000"),
])
def test_make_run_on_another_address_links_emails_there(monkeypatch, settings, addrport, url):
    from contributions.management.commands import run_dev

    monkeypatch.delenv("SITE_URL", raising=False)
    monkeypatch.setenv("RUN_MAIN", "true")  # no worker: runserver's child
    served = []
    monkeypatch.setattr(run_dev, "call_command", lambda name, address: served.append(address))
    call_command("run_dev", addrport)
    assert served == [addrport]
    assert os.environ["SITE_URL"] == settings.SITE_URL == url


def test_an_explicit_site_url_wins_over_the_address(monkeypatch, settings):
    from contributions.management.commands import run_dev

    monkeypatch.setenv("SITE_URL", "https://data.example.org")
    monkeypatch.setenv("RUN_MAIN", "true")
    monkeypatch.setattr(run_dev, "call_command", lambda name, address: None)
    settings.SITE_URL = "https://data.example.org"
    call_command("run_dev", "127.0.0.1:8011")
    assert settings.SITE_URL == "https://data.example.org"


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_demo_data_is_complete_when_a_worker_takes_its_jobs_first(celery_worker, monkeypatch):
    """Each step's task is sent on commit: a listening worker may take the job
    before the demo runs it here, and the next step must still find it done."""
    from contributions import demo, jobs

    from .factories import MaintainerFactory, ReviewerFactory, UserFactory

    def late(kind, job_id):  # comes in while the worker runs it, if it can
        rows = jobs.REGISTRY[kind].model.objects.filter(pk=job_id)
        deadline = time.monotonic() + 5
        while rows.filter(status=JobStatus.QUEUED).exists() and time.monotonic() < deadline:
            time.sleep(0.001)
        return run(kind, job_id)

    run = jobs.job_run
    monkeypatch.setattr(jobs, "job_run", late)

    demo.demo_data_create(member=UserFactory(), reviewer=ReviewerFactory(), maintainer=MaintainerFactory())
    release = Release.objects.get(version="demo-1")
    assert release.status == JobStatus.DONE, release.error
    assert release.entries.count() == 2
