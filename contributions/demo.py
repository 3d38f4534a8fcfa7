"""Demo data for `make run`: a few corpora taken through the real pipeline
(analysis, review, training-ready version, a public release), so that the
public pages, the explorer and the statistics have something to show on a
fresh machine. The work runs in this process, as a worker would run it."""

from __future__ import annotations

import random
from typing import Any

import orjson
from django.core.files.uploadedfile import SimpleUploadedFile

from . import releases, review, submissions
from .jobs import job_run_here
from .models import Corpus, Decision, JobStatus, Release, TrainingVersion, User
from .texts import message_render

SUBJECTS = [
    "Le conseil municipal", "La médiathèque", "L'association des riverains", "Le service des espaces verts",
    "La commission des finances", "Le collège Jean-Moulin", "Le comité des fêtes", "La direction régionale",
]
VERBS = ["a présenté", "examinera", "a adopté", "souhaite améliorer", "publie", "a longuement discuté"]
OBJECTS = [
    "le budget de l'année prochaine", "les horaires d'ouverture du marché", "un plan de rénovation des écoles",
    "la programmation culturelle de l'été", "les nouvelles règles de stationnement", "un atlas des jardins partagés",
    "le rapport annuel sur la qualité de l'eau", "un inventaire des chemins de randonnée",
]
TAILS = [
    "afin de mieux répondre aux besoins des habitants.", "après une longue concertation avec le public.",
    "selon le calendrier annoncé au printemps.", "malgré quelques réserves exprimées en séance.",
    "pour la troisième année consécutive.", "avec le soutien de plusieurs partenaires locaux.",
]

DEMO_CORPORA: list[dict[str, Any]] = [
    {
        "title": "Comptes rendus municipaux (démo)",
        "description": "Procès-verbaux fictifs de conseils municipaux, écrits pour la démonstration.",
        "license": "etalab-2.0", "domain": "administrative", "period_start": 2015, "period_end": 2024,
        "documents": 60, "release": True,
    },
    {
        "title": "Chroniques de quartier (démo)",
        "description": "Courtes chroniques de la vie locale, écrites pour la démonstration.",
        "license": "CC-BY-4.0", "domain": "news", "period_start": 2020, "period_end": 2025,
        "documents": 40, "release": True,
    },
    {
        "title": "Lettres d'information associatives (démo)",
        "description": "Lettres d'information fictives d'associations, en attente de relecture.",
        "license": "CC-BY-SA-4.0", "domain": "conversation", "period_start": 2023, "period_end": 2025,
        "documents": 25, "release": False,
    },
]


# Written by the community in the site's language (French), as real ones would be.
DEMO_GUIDELINES = """\
## Avant d’approuver

1. **Droits** : la licence déclarée doit correspondre à la source ; en cas de doute, demandez des modifications.
2. **Données personnelles** : excluez les documents qui identifient une personne privée (adresse, téléphone).
3. **Qualité** : excluez le texte tronqué, les menus de sites et les doublons ; un corpus avec plus d’un tiers
   de documents à exclure est à renvoyer.
4. **Langue** : le texte doit être dans les langues déclarées.

Expliquez toujours une demande de modifications : le contributeur lit votre commentaire.
"""


def _documents(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for index in range(n):
        sentences = [
            f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(TAILS)}"
            for _ in range(rng.randint(3, 12))
        ]
        if index % 15 == 7:
            # Personal data the analysis finds and the training-ready text masks.
            sentences.append("Pour toute question, écrire à claire.martin@example.org.")
        docs.append(" ".join(sentences))
    return docs


def _run_here(kind: str, job_id: int) -> None:
    job = job_run_here(kind, job_id)
    if job.status != JobStatus.DONE:
        error = message_render(job.error, technical=True)
        raise RuntimeError(f"demo data: {kind} job {job_id} is {job.status}: {error}")


def demo_data_create(*, member: User, reviewer: User, maintainer: User) -> bool:
    """Create the demo corpora and release once; False if they exist."""
    if Corpus.objects.filter(submitter=member).exists():
        return False
    if review.guidelines_current() is None:
        review.guidelines_publish(author=maintainer, body=DEMO_GUIDELINES, based_on=None)
    for seed, spec in enumerate(DEMO_CORPORA):
        spec = dict(spec)
        count, to_release = spec.pop("documents"), spec.pop("release")
        corpus = submissions.corpus_create(
            submitter=member, languages=["fr"], source_url="https://example.org/demo", collection_method="",
            rights_attested=True, web_collected=False, tdm_respected=False, may_contain_personal_data=True, **spec,
        )
        content = b"".join(orjson.dumps({"text": text}) + b"\n" for text in _documents(seed, count))
        submissions.corpus_file_add(
            corpus=corpus, actor=member, upload=SimpleUploadedFile("demo.jsonl", content)
        )
        run = submissions.corpus_submit(corpus=corpus, actor=member)
        _run_here("analysis", run.id)
        if not to_release:
            continue
        corpus.refresh_from_db()
        review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
        _run_here("training", TrainingVersion.objects.get(corpus=corpus).id)
    if not Release.objects.filter(version="demo-1").exists():
        release = releases.release_create(actor=maintainer, version="demo-1", public=True)
        _run_here("release", release.id)
    return True
