"""Generated French corpora for the benchmarks: varied sentences, some
personal data, some exact and near duplicates, some boilerplate."""

from __future__ import annotations

import random
from collections.abc import Iterator

import orjson

SUBJECTS = [
    "Le conseil municipal",
    "La commission européenne",
    "Notre équipe de recherche",
    "Le ministère de la Culture",
    "Une association locale",
    "La bibliothèque nationale",
    "Le laboratoire d'informatique",
    "Cette entreprise lyonnaise",
    "Le tribunal administratif",
    "La région Occitanie",
    "Un groupe de bénévoles",
    "L'université de Strasbourg",
]
VERBS = [
    "a présenté",
    "examinera",
    "publie chaque année",
    "a longuement discuté",
    "souhaite améliorer",
    "a financé",
    "met à disposition",
    "a adopté à l'unanimité",
    "analyse en détail",
    "prépare activement",
]
OBJECTS = [
    "un rapport sur la qualité de l'eau potable",
    "les nouvelles règles de circulation en centre-ville",
    "un corpus de textes anciens numérisés",
    "le budget prévisionnel de l'année prochaine",
    "des modèles de langue entièrement ouverts",
    "la rénovation énergétique des écoles primaires",
    "une méthode d'évaluation des traductions automatiques",
    "l'accès des citoyens aux données publiques",
    "la préservation du patrimoine linguistique régional",
    "un programme de formation pour les enseignants",
]
TAILS = [
    "afin de mieux répondre aux besoins des habitants.",
    "malgré des contraintes budgétaires importantes.",
    "dans le respect du règlement général sur la protection des données.",
    "en lien avec plusieurs partenaires.",
    "ce qui a suscité de nombreuses réactions.",
    "selon un calendrier qui reste à préciser.",
    "pour la troisième fois consécutive.",
    "comme l'indiquait déjà le précédent compte rendu.",
]
PII = [
    "Contact : jeanne.martin@exemple.fr.",
    "Tél. 06 12 34 56 78.",
    "IBAN FR76 3000 6000 0112 3456 7890 189.",
    "Serveur 192.168.10.42.",
]


def _vocabulary() -> list[str]:
    # Faker (a test dependency) carries 1,462 French words.
    from faker.providers.lorem.fr_FR import Provider

    return list(Provider.word_list)


VOCABULARY = _vocabulary()


def sentence(rng: random.Random) -> str:
    """A sentence of the grammar above with a clause of random French words,
    so that documents differ as real ones do."""
    clause = " ".join(rng.choices(VOCABULARY, k=rng.randint(4, 12)))
    return f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}, {clause}, {rng.choice(TAILS)}"


def document(rng: random.Random) -> str:
    paragraphs = []
    for _ in range(rng.randint(2, 6)):
        paragraphs.append(" ".join(sentence(rng) for _ in range(rng.randint(2, 7))))
    if rng.random() < 0.05:
        paragraphs.append(rng.choice(PII))
    return "\n\n".join(paragraphs)


def documents(size_bytes: int, seed: int = 0) -> Iterator[str]:
    rng = random.Random(seed)
    written, previous = 0, []
    while written < size_bytes:
        roll = rng.random()
        if previous and roll < 0.02:
            text = rng.choice(previous)  # exact duplicate
        elif previous and roll < 0.04:
            text = rng.choice(previous) + " " + sentence(rng)  # near duplicate
        else:
            text = document(rng)
            if len(previous) < 1000:
                previous.append(text)
        written += len(text.encode())
        yield text


def write_jsonl(path: str, size_bytes: int, seed: int = 0) -> int:
    count = 0
    with open(path, "wb") as out:
        for text in documents(size_bytes, seed):
            out.write(orjson.dumps({"text": text, "source": "bench"}) + b"\n")
            count += 1
    return count
