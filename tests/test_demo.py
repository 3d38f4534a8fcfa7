from __future__ import annotations

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
