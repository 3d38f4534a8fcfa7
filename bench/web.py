"""Requests per second and latency of the site's pages under load, on a
database the size of a grown community.

    .venv/bin/python bench/web.py                      # 10,000 corpora, 1,000 members, a 1 GB release
    .venv/bin/python bench/web.py --corpora 2000 --release-mb 200 --seconds 5
    .venv/bin/python bench/web.py --tiny               # seconds: does it still run?

Fills a PostgreSQL database of its own (created on 127.0.0.1:5432 as the
user ``postgres`` and dropped afterwards; ``--pg`` names another server) with
rows written in bulk, never through the slow pipeline: members with their
notifications, corpora in a realistic mix of statuses, each with its
analysis (one real report and shard, made once by the real analysis and
shared), detected languages, reviews, comments and history, training-ready
versions, and a public release whose Parquet files (``--release-mb``) are
written straight with pyarrow in the release schema. Then serves the site
with gunicorn, 2 sync workers and DEBUG off as in production, and loads
each page with ``--clients`` concurrent clients (threads, keep-alive
connections) for ``--seconds``, each page right after the same load on a
trivial view (a plain "ok" through the same middleware, added by a URL
module of the bench's own), whose median rate is ``baseline_rps``. Two
more views of that module give the scale of what any page costs before it
does anything: ``floor_one_query`` (one raw SQL query) and
``floor_signed_in`` (a member's session and row, as every signed-in page
reads them); they are measured like pages but have no target.

Prints one JSON line: ``baseline_rps`` and per page ``rps``, ``p50_ms``,
``p95_ms``, ``p99_ms``, ``errors`` (transport failures and 5xx) and the
status codes seen. Targets: p95 under 200 ms on every page (300 ms for the
explorer search) and at least a third of ``baseline_rps``.

``--tiny`` uses SQLite when PostgreSQL cannot be reached.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import SHARED, emit, leave, peak_rss_mb  # noqa: E402

FIGURES = ("baseline_rps", "pages_measured")
VERSION = "bench-web"
TRIVIAL = "/bench-trivial/"
SEARCH_WORD = "conseil"

# What the bench adds to the site, in a folder of its own on the Python path
# of the servers: a trivial view through the same middleware, and nothing else.
URLS_MODULE = '''
from django.db import connection
from django.http import HttpResponse
from django.urls import include, path


def trivial(request):
    return HttpResponse(b"ok", content_type="text/plain")


def one_query(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse(b"ok", content_type="text/plain")


def signed_in(request):
    # The session and the member, as every signed-in page reads them.
    return HttpResponse(b"ok" if request.user.is_authenticated else b"anonymous", content_type="text/plain")


urlpatterns = [
    path("bench-trivial/", trivial), path("bench-one-query/", one_query), path("bench-signed-in/", signed_in),
    path("", include("openllm_site.urls")),
]
'''
SETTINGS_MODULE = '''
from openllm_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench_web_urls"
'''

# A realistic mix of where corpora stand (weights out of 100).
STATUSES = [
    ("released", 40), ("queued_for_training", 10), ("approved", 3), ("awaiting_review", 15),
    ("changes_requested", 5), ("rejected", 6), ("withdrawn", 4), ("failed", 2), ("draft", 10),
    ("submitted", 2), ("processing", 3),
]
LICENSES = [
    ("etalab-2.0", 30), ("CC-BY-4.0", 25), ("CC-BY-SA-4.0", 15), ("CC0-1.0", 8), ("public-domain", 7),
    ("ODC-By-1.0", 3), ("PDDL-1.0", 2), ("CC-BY-NC-4.0", 6), ("CC-BY-NC-SA-4.0", 4),
]
DOMAINS = ["news", "literature", "legal", "administrative", "scientific", "encyclopedic", "education",
           "conversation", "web", "other"]
LANGUAGE_SETS = [(["fr"], 70), (["fr", "en"], 12), (["en"], 5), (["fr", "br"], 3), (["fr", "oc"], 2),
                 (["de"], 2), (["es"], 2), (["it"], 2), (["fr", "de", "en"], 2)]
TOPICS = ["Comptes rendus du conseil municipal", "Journal officiel", "Romans du XIXe siècle", "Thèses en ligne",
          "Forum d'entraide", "Dépêches régionales", "Manuels scolaires", "Décisions de justice",
          "Encyclopédie libre", "Conseil d'État : avis", "Sous-titres de films", "Presse ancienne numérisée"]


def weighted(rng: random.Random, pairs: list) -> object:
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


# ---------------------------------------------------------------- the database


def postgres_database(server: str) -> tuple[str, str] | None:
    """A fresh database on the server: (its URL, its name), or None when the
    server cannot be reached."""
    import psycopg

    name = f"bench_web_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    try:
        with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=3) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        sys.stderr.write(f"PostgreSQL at {server} is not reachable: {exc}\n")
        return None
    return f"{server}/{name}", name


def postgres_drop(server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=3) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def site_environment(tmp: Path, database_url: str) -> dict[str, str]:
    """The environment of this process and of the servers: the bench's own
    database, media, cache and broker; production settings otherwise."""
    env = {name: value for name, value in os.environ.items() if name not in SHARED}
    env.update(
        DJANGO_SETTINGS_MODULE="bench_web_settings",
        PYTHONPATH=os.pathsep.join([str(tmp / "python"), str(ROOT)]),
        DATABASE_URL=database_url,
        VAR_DIR=str(tmp / "var"),
        MEDIA_ROOT=str(tmp / "media"),
        STATIC_ROOT=str(tmp / "static"),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        DEBUG="0",
        SECRET_KEY="bench-" + uuid.uuid4().hex,
        SECURE_HTTPS="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        REVIEW_MAINTAINER_SETTLES="yes",
    )
    return env


# ---------------------------------------------------------------- filling


def real_analysis(tmp: Path) -> dict:
    """One small corpus through the real analysis and training-ready build:
    the report, the analysis shards and the training shards every generated
    corpus shares."""
    from django.core.files.uploadedfile import UploadedFile

    from bench.corpusgen import write_jsonl
    from contributions import accounts, review, submissions
    from contributions.jobs import job_run
    from contributions.models import AnalysisRun, Decision, JobStatus, Role, TrainingVersion, User

    member = User.objects.create_user("source@bench.invalid", None, role=Role.MEMBER)
    maintainer = User.objects.create_user("source-maintainer@bench.invalid", None, role=Role.MAINTAINER)
    for user in (member, maintainer):
        accounts.agreement_accept(user=user)
    corpus = submissions.corpus_create(
        submitter=member, title="Source", description="Generated French text.", languages=["fr"],
        license="etalab-2.0", domain="administrative", source_url="https://example.org/bench", rights_attested=True,
    )
    path = tmp / "source.jsonl"
    write_jsonl(str(path), 300_000, seed=1)
    with path.open("rb") as handle:
        submissions.corpus_file_add(
            corpus=corpus, actor=member, upload=UploadedFile(handle, name=path.name, size=path.stat().st_size)
        )
    path.unlink()
    run = submissions.corpus_submit(corpus=corpus, actor=member)
    job_run("analysis", run.id)
    run = AnalysisRun.objects.get(pk=run.pk)
    if run.status != JobStatus.DONE:
        raise SystemExit(f"the source analysis failed: {run.error}")
    corpus.refresh_from_db()
    review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    version = TrainingVersion.objects.get(corpus=corpus)
    job_run("training", version.id)
    version.refresh_from_db()
    if version.status != JobStatus.DONE:
        raise SystemExit(f"the source training version failed: {version.error}")
    return {
        "report": run.report, "shards": run.shards, "near_duplicates": run.near_duplicates,
        "training_shards": version.shards, "documents": run.report.get("documents", 0),
        "excluded": version.excluded,
    }


def fill(*, corpora: int, members: int, source: dict, rng: random.Random) -> dict:
    """Everything but the release, in bulk."""
    from allauth.account.models import EmailAddress
    from django.conf import settings
    from django.utils import timezone

    from contributions.models import (
        AccountEvent,
        AgreementAcceptance,
        AnalysisRun,
        Comment,
        Corpus,
        CorpusEvent,
        CorpusLanguage,
        JobStatus,
        Notification,
        Review,
        Role,
        TrainingVersion,
        User,
    )

    now = timezone.now()
    batch = 2000
    people = []
    for i in range(members):
        role = Role.MAINTAINER if i % 100 == 0 else Role.REVIEWER if i % 12 == 0 else Role.MEMBER
        people.append(User(
            email=f"member{i}@bench.invalid", display_name=f"Membre {i}", role=role, password="!",
            public_profile=i % 3 == 0, is_active=i % 97 != 5, date_joined=now - timedelta(days=rng.randint(0, 900)),
            pseudonym=f"contributor-b{i:07d}",
        ))
    people = User.objects.bulk_create(people, batch_size=batch)
    AgreementAcceptance.objects.bulk_create(
        [AgreementAcceptance(user=u, version=settings.CONTRIBUTOR_AGREEMENT_VERSION) for u in people], batch_size=batch
    )
    EmailAddress.objects.bulk_create(
        [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in people], batch_size=batch
    )
    AccountEvent.objects.bulk_create(
        [AccountEvent(user=u, kind=AccountEvent.Kind.SUSPENDED, reason="Spam répété.") for u in people
         if not u.is_active], batch_size=batch,
    )
    reviewers = [u for u in people if u.role != Role.MEMBER and u.is_active]
    # The signed-in member of the bench owns many corpora and notifications.
    owner, reviewer, maintainer = people[1], reviewers[1], people[0]

    rows = []
    for i in range(corpora):
        submitter = owner if i % 50 == 0 else people[rng.randrange(members)]
        status = weighted(rng, STATUSES)
        created = now - timedelta(days=rng.uniform(0, 720))
        documents = int(rng.lognormvariate(7, 1.5)) + 1
        words = documents * rng.randint(80, 600)
        version = 2 if rng.random() < 0.1 else 1
        start = rng.randint(1850, 2020)
        rows.append(Corpus(
            submitter=submitter, submitter_pseudonym=submitter.pseudonym,
            title=f"{rng.choice(TOPICS)} {i}", description=f"Corpus {i} : {rng.choice(TOPICS).lower()}, "
            "textes publics rassemblés et relus par la communauté, " * 3,
            languages=weighted(rng, LANGUAGE_SETS), license=weighted(rng, LICENSES), domain=rng.choice(DOMAINS),
            source_url=f"https://example.org/corpus/{i}", period_start=start, period_end=min(2026, start + 10),
            rights_attested=True, status=status, version=0 if status == "draft" else version,
            created_at=created, updated_at=created + timedelta(days=2),
            submitted_at=None if status == "draft" else created + timedelta(hours=1),
            review_started_at=None if status in ("draft", "submitted", "processing", "awaiting_review")
            else created + timedelta(days=1),
            documents=0 if status == "draft" else documents, words=0 if status == "draft" else words,
            characters=0 if status == "draft" else words * 6,
        ))
    rows = Corpus.objects.bulk_create(rows, batch_size=batch)
    analysed = [c for c in rows if c.status not in ("draft",)]
    AnalysisRun.objects.bulk_create(
        [AnalysisRun(
            corpus=c, corpus_version=c.version, status=JobStatus.FAILED if c.status == "failed" else (
                JobStatus.RUNNING if c.status in ("submitted", "processing") else JobStatus.DONE),
            report=source["report"], shards=source["shards"], near_duplicates=source["near_duplicates"],
            documents_done=c.documents, progress_done=c.characters, progress_total=c.characters,
            created_at=c.created_at, started_at=c.created_at, finished_at=c.created_at + timedelta(minutes=5),
        ) for c in analysed], batch_size=500,
    )
    CorpusLanguage.objects.bulk_create(
        [CorpusLanguage(corpus=c, language=code, documents=max(1, c.documents // (k + 1)))
         for c in analysed for k, code in enumerate(c.languages)], batch_size=batch,
    )
    decided = [c for c in rows if c.status in ("released", "queued_for_training", "approved", "changes_requested",
                                               "rejected")]
    reviews, events, comments = [], [], []
    for c in rows:
        if c.status == "draft":
            continue
        t = c.submitted_at
        events.append(CorpusEvent(corpus=c, actor=c.submitter, from_status="draft", to_status="submitted",
                                  created_at=t))
        events.append(CorpusEvent(corpus=c, actor=None, from_status="submitted", to_status="processing",
                                  created_at=t + timedelta(minutes=1)))
        if c.status in ("submitted", "processing"):
            continue
        if c.status == "failed":
            events.append(CorpusEvent(corpus=c, from_status="processing", to_status="failed",
                                      created_at=t + timedelta(minutes=5)))
            continue
        events.append(CorpusEvent(corpus=c, from_status="processing", to_status="awaiting_review",
                                  created_at=t + timedelta(minutes=5)))
        if rng.random() < 0.3:
            comments.append(Comment(corpus=c, author=c.submitter, author_pseudonym=c.submitter_pseudonym,
                                    body="Merci de votre relecture !", created_at=t + timedelta(hours=3)))
    for c in decided:
        outcome = {"changes_requested": "request_changes", "rejected": "reject"}.get(c.status, "approve")
        chosen = rng.sample(reviewers, k=min(len(reviewers), rng.choice([1, 2, 2, 3])))
        for k, r in enumerate(chosen):
            if r.pk == c.submitter_id:
                continue
            decision = outcome if k == len(chosen) - 1 or rng.random() < 0.8 else "approve"
            reviews.append(Review(corpus=c, corpus_version=c.version, reviewer=r, decision=decision,
                                  reason="quality" if decision == "reject" else "",
                                  comment="" if decision == "approve" else "Voir les remarques.",
                                  created_at=c.submitted_at + timedelta(days=1, hours=k)))
        target = {"request_changes": "changes_requested", "reject": "rejected"}.get(outcome, "approved")
        events.append(CorpusEvent(corpus=c, actor=chosen[-1], from_status="awaiting_review", to_status=target,
                                  created_at=c.submitted_at + timedelta(days=1, hours=3)))
        if c.status in ("queued_for_training", "released"):
            events.append(CorpusEvent(corpus=c, from_status="approved", to_status="queued_for_training",
                                      created_at=c.submitted_at + timedelta(days=1, hours=4)))
        if c.status == "released":
            events.append(CorpusEvent(corpus=c, from_status="queued_for_training", to_status="released",
                                      created_at=c.submitted_at + timedelta(days=20)))
    # A corpus waiting for review already has a first approval sometimes.
    for c in rows:
        if c.status == "awaiting_review" and rng.random() < 0.3:
            r = rng.choice(reviewers)
            if r.pk != c.submitter_id:
                reviews.append(Review(corpus=c, corpus_version=c.version, reviewer=r, decision="approve",
                                      created_at=c.submitted_at + timedelta(days=1)))
    Review.objects.bulk_create(reviews, batch_size=batch)
    CorpusEvent.objects.bulk_create(events, batch_size=batch)
    Comment.objects.bulk_create(comments, batch_size=batch)
    ready = [c for c in rows if c.status in ("queued_for_training", "released", "approved")]
    TrainingVersion.objects.bulk_create(
        [TrainingVersion(
            corpus=c, corpus_version=c.version, status=JobStatus.DONE if c.status != "approved" else JobStatus.RUNNING,
            shards=source["training_shards"], documents=c.documents, words=c.words, characters=c.characters,
            excluded=source["excluded"], created_at=c.submitted_at + timedelta(days=2),
        ) for c in ready], batch_size=500,
    )
    notifications = []
    for u in people:
        for k in range(200 if u.pk == owner.pk else rng.randint(0, 30)):
            c = rows[rng.randrange(len(rows))]
            notifications.append(Notification(
                user=u, corpus=c, kind=Notification.Kind.COMMENT,
                params={"author": "contributor-b0000001", "title": c.title, "body": "Une remarque sur le corpus."},
                created_at=now - timedelta(hours=k), read_at=None if k < 3 else now,
            ))
    Notification.objects.bulk_create(notifications, batch_size=batch)
    mine = [c for c in rows if c.submitter_id == owner.pk and c.status not in ("draft",)]
    waiting = [c for c in rows if c.status == "awaiting_review" and c.submitter_id != reviewer.pk]
    return {
        "owner": owner, "reviewer": reviewer, "maintainer": maintainer, "my_corpus": mine[0],
        "review_corpus": waiting[0], "released": [c for c in rows if c.status == "released"],
        "published": [c for c in rows if c.status in ("released", "queued_for_training", "approved")],
        "reviews": len(reviews), "events": len(events), "notifications": len(notifications),
    }


def write_release(*, tmp: Path, megabytes: float, released: list, maintainer, rng: random.Random) -> dict:
    """A built public release of about ``megabytes`` of Parquet in the
    release schema, written straight with pyarrow (as the build writes:
    zstd, row groups of ROW_GROUP_ROWS, shards of at most SHARD_MAX_BYTES),
    its row, entries and card."""
    import hashlib

    import pyarrow as pa
    import pyarrow.parquet as pq
    from django.conf import settings
    from django.utils import timezone

    from bench.corpusgen import documents
    from contributions.models import JobStatus, Release, ReleaseEntry, TrainingVersion
    from contributions.releases import ROW_GROUP_ROWS, SCHEMA, SHARD_MAX_BYTES, family

    # A pool of generated documents; rows draw from it at random, so pages of
    # a file rarely repeat a document and compress as real text does.
    pool_texts = list(documents(int(min(80e6, max(2e6, megabytes * 1e6 / 10))), seed=7))
    pool = pa.array(pool_texts, type=pa.large_string())
    pool_chars = pa.array([len(t) for t in pool_texts], type=pa.int64())
    pool_words = pa.array([len(t.split()) for t in pool_texts], type=pa.int64())
    del pool_texts
    prefix = "release/1/attempt-1"
    out = Path(settings.MEDIA_ROOT) / prefix
    by_config: dict[str, list] = {}
    for c in released:
        language = c.languages[0] if c.languages else "fr"
        name = f"{family(c.license)}-{language}"
        by_config.setdefault(name, []).append(c)
    # Most rows in the largest configs, as in real data.
    total_bytes = megabytes * 1e6
    weights = {name: len(cs) for name, cs in by_config.items()}
    files, configs, per_corpus = [], {}, {}
    for name, corpora in sorted(by_config.items()):
        target = total_bytes * weights[name] / sum(weights.values())
        rows = words = written = shard = 0
        while written < target or shard == 0:
            path = f"data/{name}/train-{shard:05d}.parquet"
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            with pq.ParquetWriter(out / path, SCHEMA, compression="zstd", compression_level=3,
                                  write_statistics=True) as writer:
                while (out / path).stat().st_size < min(SHARD_MAX_BYTES, target - written + 1):
                    n = ROW_GROUP_ROWS
                    pick = pa.array([rng.randrange(len(pool)) for _ in range(n)])
                    owners = [corpora[(rows + k) // 97 % len(corpora)] for k in range(n)]
                    chars, wcount = pool_chars.take(pick), pool_words.take(pick)
                    table = pa.table({
                        "id": [f"c{o.pk}-v{o.version}-d{rows + k}" for k, o in enumerate(owners)],
                        "text": pool.take(pick),
                        "corpus_id": [o.pk for o in owners],
                        "corpus_title": [o.title for o in owners],
                        "license": [o.license for o in owners],
                        "source": [o.source_url for o in owners],
                        "language": [(o.languages or ["fr"])[0] for o in owners],
                        "domain": [o.domain for o in owners],
                        "submitter": [o.submitter_pseudonym for o in owners],
                        "reviewers": [["contributor-b0000012"]] * n,
                        "processing_version": ["1"] * n,
                        "chars": chars,
                        "words": wcount,
                        "quality_flags": [[] if k % 7 else ["short_lines"] for k in range(n)],
                        "personal_data_replaced": pa.array([1 if k % 20 == 0 else 0 for k in range(n)], pa.int32()),
                    }, schema=SCHEMA)
                    writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
                    rows += n
                    words += sum(wcount.to_pylist())
                    for o, w in zip(owners, wcount.to_pylist(), strict=True):
                        figures = per_corpus.setdefault(o.pk, {"documents": 0, "words": 0})
                        figures["documents"] += 1
                        figures["words"] += w
            size = (out / path).stat().st_size
            written += size
            digest = hashlib.sha256()
            with (out / path).open("rb") as handle:
                while block := handle.read(1 << 22):
                    digest.update(block)
            files.append({"path": path, "sha256": digest.hexdigest(), "bytes": size})
            shard += 1
        configs[name] = {"documents": rows, "files": shard, "words": words,
                         "languages": [name.partition("-")[2]], "family": name.partition("-")[0]}
    card = ["---", "license: other", "language:", *[f"- {lang}" for lang in sorted({n.partition('-')[2]
                                                                                   for n in configs})],
            "configs:"]
    for name in sorted(configs):
        card += [f"- config_name: {name}", "  data_files:", "  - split: train", f"    path: data/{name}/*.parquet"]
    card += ["---", "", f"# OpenLLM Europe {VERSION}", "", "| corpus | license | documents |", "| --- | --- | --- |"]
    card += [f"| {c.title} | {c.license} | {per_corpus.get(c.pk, {}).get('documents', 0)} |" for c in released]
    (out / "README.md").write_text("\n".join(card) + "\n")
    files.append({"path": "README.md", "sha256": "0" * 64, "bytes": (out / "README.md").stat().st_size})
    stats = {
        "documents": sum(c["documents"] for c in configs.values()),
        "words": sum(c["words"] for c in configs.values()),
        "configs": configs,
        "corpora": {str(pk): {"documents": f["documents"], "words": f["words"], "excluded": 3, "duplicates": 1,
                              "filtered": 0, "masked": f["documents"] // 20} for pk, f in per_corpus.items()},
        "words_by_license": {},
        "duplicates_removed": {"exact": 120, "near": 45},
        "languages": sorted({lang for c in configs.values() for lang in c["languages"]}),
        "removed_ids": [],
        "notes": {"previous": None, "corpora_added": sorted(per_corpus), "corpora_removed": [],
                  "documents_added": 0, "documents_removed": 0, "removed_on_request": 0, "words_by_license": []},
    }
    now = timezone.now()
    release = Release.objects.create(
        version=VERSION, created_by=maintainer, public=True, status=JobStatus.DONE, prefix=prefix, files=files,
        stats=stats, notes=f"# {VERSION}\n\nFirst release.\n", created_at=now, finished_at=now, attempt=1,
        filters={"licenses": [], "languages": [], "domains": [], "drop_flags": [], "removed": []},
    )
    versions = dict(TrainingVersion.objects.filter(corpus__in=released).values_list("corpus_id", "id"))
    ReleaseEntry.objects.bulk_create(
        [ReleaseEntry(release=release, corpus=c, training_version_id=versions.get(c.pk),
                      documents=per_corpus.get(c.pk, {}).get("documents", 0),
                      words=per_corpus.get(c.pk, {}).get("words", 0), excluded=3, duplicates=1,
                      masked=per_corpus.get(c.pk, {}).get("documents", 0) // 20) for c in released],
        batch_size=2000,
    )
    biggest = max(configs, key=lambda n: configs[n]["documents"])
    return {"config": biggest, "megabytes": round(sum(f["bytes"] for f in files) / 1e6, 1),
            "rows": stats["documents"]}


def session_cookie(user) -> str:
    """A signed-in session for ``user``, as the login view would store it,
    and the CSRF cookie a browser keeps from the first page with a form."""
    from django.conf import settings
    from django.contrib.sessions.backends.db import SessionStore
    from django.utils.crypto import get_random_string

    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = settings.AUTHENTICATION_BACKENDS[0]
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    return (f"{settings.SESSION_COOKIE_NAME}={session.session_key}; "
            f"{settings.CSRF_COOKIE_NAME}={get_random_string(32)}")


# ---------------------------------------------------------------- the load


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [str(gunicorn) if gunicorn.exists() else sys.executable, *([] if gunicorn.exists() else
               ["-m", "gunicorn"]), "openllm_site.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2",
               "--backlog", "2048", "--chdir", str(ROOT)]
    server = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                              start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited: {log.read_text()[-3000:]}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", TRIVIAL)
            if connection.getresponse().status == 200:
                connection.close()
                return server
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer within 60 s")


def warm(port: int, path: str, cookie: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status


def load(port: int, path: str, cookie: str, clients: int, seconds: float) -> dict:
    """``clients`` threads each sending GET ``path`` one after the other on a
    kept-alive connection (opened again when the server closes it)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    statuses: dict[int, int] = {}
    errors = [0] * clients
    received = [0] * clients
    lock = threading.Lock()
    start_gate = threading.Barrier(clients + 1)
    stop_at = [0.0]
    headers = {"Cookie": cookie} if cookie else {}
    headers["Accept-Language"] = "fr"

    def client(number: int) -> None:
        connection = None
        start_gate.wait()
        while time.perf_counter() < stop_at[0]:
            began = time.perf_counter()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                connection.request("GET", path, headers=headers)
                response = connection.getresponse()
                body = response.read()
                status = response.status
                if response.will_close:
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException):
                errors[number] += 1
                if connection is not None:
                    connection.close()
                connection = None
                continue
            latencies[number].append(time.perf_counter() - began)
            received[number] += len(body)
            if status >= 500:
                errors[number] += 1
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
        if connection is not None:
            connection.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start_gate.wait()
    for thread in threads:
        thread.join(seconds + 120)
    elapsed = time.perf_counter() - began
    every = sorted(x for per_client in latencies for x in per_client)

    def percentile(p: float) -> float:
        return round(1000 * every[min(len(every) - 1, int(p * len(every)))], 1) if every else 0.0

    return {
        "rps": round(len(every) / elapsed, 1),
        "p50_ms": percentile(0.50), "p95_ms": percentile(0.95), "p99_ms": percentile(0.99),
        "errors": sum(errors), "status": {str(k): v for k, v in sorted(statuses.items())},
        "requests": len(every), "bytes": sum(received), "seconds": round(elapsed, 2),
    }


def pages(setup: dict, release: dict) -> list[tuple[str, str, str]]:
    """(name, path, who) of every page measured."""
    from django.urls import reverse

    corpus = setup["published"][len(setup["published"]) // 2]
    config = release["config"]
    return [
        ("catalogue", reverse("contributions:data_list"), ""),
        ("catalogue_filtered", f"{reverse('contributions:data_list')}?q={SEARCH_WORD}&license=etalab-2.0", ""),
        ("corpus_page", reverse("contributions:data_detail", args=[corpus.pk]), ""),
        ("stats", "/stats/", ""),
        ("releases", reverse("contributions:release_list"), ""),
        ("release_page", reverse("contributions:release_detail", args=[VERSION]), ""),
        ("explorer_search", f"/releases/{VERSION}/explore/{config}/?q={SEARCH_WORD}", ""),
        ("my_corpora", reverse("contributions:corpus_list"), "owner"),
        ("my_corpus", reverse("contributions:corpus_detail", args=[setup["my_corpus"].pk]), "owner"),
        ("notifications", reverse("contributions:notifications"), "owner"),
        ("review_queue", reverse("contributions:review_queue"), "reviewer"),
        ("review_page", reverse("contributions:review_corpus", args=[setup["review_corpus"].pk]), "reviewer"),
        ("training_queue", reverse("contributions:training_queue"), "maintainer"),
        ("reviewers", reverse("contributions:reviewer_stats"), "maintainer"),
        ("roles", reverse("contributions:roles"), "maintainer"),
        # Not pages: what any page costs before it does anything, for scale.
        ("floor_one_query", "/bench-one-query/", ""),
        ("floor_signed_in", "/bench-signed-in/", "owner"),
    ]


def profile(todo: list, cookies: dict, wanted: set, count: int, sort: str = "tottime") -> dict:
    """CPU time per request of each page, in this process (Django's test
    client, no server), and the functions it goes to."""
    import cProfile
    import io
    import pstats

    from django.db import connection, reset_queries
    from django.test import Client

    figures = {}
    for name, path, who in todo:
        if wanted and name not in wanted:
            continue
        client = Client(HTTP_HOST="127.0.0.1", **({"HTTP_COOKIE": cookies[who]} if cookies[who] else {}))
        first = client.get(path)
        status, size = first.status_code, len(first.content)
        queries: list[str] = []

        def counted(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(counted):
            client.get(path)
        began = time.process_time()
        for _ in range(count):
            client.get(path)
        cpu = (time.process_time() - began) / count
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(count):
            client.get(path)
        profiler.disable()
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats(sort).print_stats(40)
        calls = pstats.Stats(profiler).total_calls // count  # type: ignore[attr-defined]
        sys.stderr.write(f"===== {name} {path}: {1000 * cpu:.1f} ms CPU, {calls} calls, {len(queries)} queries\n")
        sys.stderr.write("".join(f"  SQL {sql[:300]}\n" for sql in queries))
        sys.stderr.write(text.getvalue()[-8000:])
        reset_queries()
        figures[name] = {"cpu_ms": round(1000 * cpu, 2), "calls": calls, "queries": len(queries), "status": status,
                        "bytes": size}
    return {"profile": figures, "seconds": 1, "mb_per_s": 1, "peak_rss_mb": peak_rss_mb(), "baseline_rps": 1,
            "pages_measured": len(figures)}


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpora", type=int, default=10_000)
    parser.add_argument("--members", type=int, default=1_000)
    parser.add_argument("--release-mb", type=float, default=1024)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8, help="of load per page (and as much on the trivial view)")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432", help="PostgreSQL server")
    parser.add_argument("--conn-max-age", type=int, default=60,
                        help="CONN_MAX_AGE of the servers (default 60, as deploy/env.example sets it; 0: a database "
                             "connection per request)")
    parser.add_argument("--cache-url", default="",
                        help="CACHE_URL of the servers, e.g. redis://127.0.0.1:6379/13 as production has it "
                             "(default: the file cache in the bench's folder); the bench empties it first")
    parser.add_argument("--only", default="", help="comma-separated page names (default: all)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="no server: N requests of each page in this process, the CPU time per request and "
                             "where it goes (cProfile, on stderr)")
    parser.add_argument("--profile-sort", default="tottime", help="pstats order of --profile (e.g. cumulative)")
    parser.add_argument("--tiny", action="store_true", help="a few corpora, a few MB, 2 clients, under a minute")
    args = parser.parse_args()
    if args.tiny:
        args.corpora, args.members, args.release_mb, args.clients, args.seconds = 60, 30, 3, 2, 0.4

    tmp = Path(tempfile.mkdtemp(prefix="bench-web-"))
    database = postgres_database(args.pg)
    if database is None and not args.tiny:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SystemExit("bench/web.py needs PostgreSQL (see --pg); --tiny falls back to SQLite.")
    url = database[0] if database else f"sqlite:///{tmp / 'db.sqlite3'}"
    server = None
    try:
        (tmp / "python").mkdir()
        (tmp / "python" / "bench_web_urls.py").write_text(URLS_MODULE)
        (tmp / "python" / "bench_web_settings.py").write_text(SETTINGS_MODULE)
        env = site_environment(tmp, url)
        env["CONN_MAX_AGE"] = str(args.conn_max_age)
        if args.cache_url:
            env["CACHE_URL"] = args.cache_url
        os.environ.clear()
        os.environ.update(env)
        sys.path.insert(0, str(tmp / "python"))
        static = subprocess.Popen([sys.executable, str(ROOT / "manage.py"), "collectstatic", "--noinput", "-v0"],
                                  env=env, cwd=ROOT)
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        from django.core.cache import cache

        cache.clear()
        rng = random.Random(2026)
        source = real_analysis(tmp)
        setup = fill(corpora=args.corpora, members=args.members, source=source, rng=rng)
        release = write_release(tmp=tmp, megabytes=args.release_mb, released=setup["released"],
                                maintainer=setup["maintainer"], rng=rng)
        cookies = {who: session_cookie(setup[who]) for who in ("owner", "reviewer", "maintainer")}
        cookies[""] = ""
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        todo = pages(setup, release)
        connection.close()
        fill_seconds = time.perf_counter() - started
        if static.wait() != 0:
            raise SystemExit("collectstatic failed")

        wanted = {name for name in args.only.split(",") if name}
        if args.profile:
            emit(profile(todo, cookies, wanted, args.profile, args.profile_sort))
            return
        port = free_port()
        server = serve(env, port, tmp / "gunicorn.log")
        results, baselines = {}, []
        load_started = time.perf_counter()
        total_bytes = 0
        for name, path, who in todo:
            if wanted and name not in wanted:
                continue
            # Once, unmeasured: a first request fills what a page caches.
            warm(port, path, cookies[who])
            trivial = load(port, TRIVIAL, "", args.clients, args.seconds)
            baselines.append(trivial["rps"])
            figures = load(port, path, cookies[who], args.clients, args.seconds)
            figures["path"] = path
            total_bytes += figures.pop("bytes") + trivial["bytes"]
            results[name] = figures
            sys.stderr.write(f"{name}: {json.dumps(figures)} (trivial {trivial['rps']} rps)\n")
        load_seconds = time.perf_counter() - load_started
        baseline = statistics.median(baselines) if baselines else 0.0
        limit = {name: 300 if name == "explorer_search" else 200 for name in results if not name.startswith("floor_")}
        emit({
            "baseline_rps": baseline,
            "pages": results,
            "pages_measured": len(results),
            "slow_pages": sorted(n for n in limit if results[n]["p95_ms"] >= limit[n]),
            "below_third_of_baseline": sorted(n for n in limit if results[n]["rps"] < baseline / 3),
            "database": connection.vendor,
            "corpora": args.corpora, "members": args.members, "clients": args.clients,
            "conn_max_age": args.conn_max_age, "cache": "redis" if args.cache_url else "file",
            "release_mb": release["megabytes"], "release_rows": release["rows"],
            "reviews": setup["reviews"], "events": setup["events"], "notifications": setup["notifications"],
            "fill_seconds": round(fill_seconds, 1),
            "seconds": round(load_seconds, 2),
            "mb_per_s": round(total_bytes / 1e6 / load_seconds, 3),
            "peak_rss_mb": peak_rss_mb(),
        })
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(20)
            except subprocess.TimeoutExpired:
                server.kill()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:  # noqa: BLE001 - Django may not be set up yet
            pass
        if database:
            postgres_drop(args.pg, database[1])
        shutil.rmtree(tmp, ignore_errors=True)
    leave()


if __name__ == "__main__":
    main()
