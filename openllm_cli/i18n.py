"""The client's messages in English and in French.

English strings are the keys; ``FR`` holds their French and ``FR_PLURALS``
the French of plural pairs. The language is chosen once, at start, by
``--lang``, then ``OPENLLM_LANG``, then the first of ``LC_ALL``,
``LC_MESSAGES`` and ``LANG`` that is set: ``fr…`` is French, anything else
English. argparse's own words (``usage:``, ``options``, its errors) go
through the same catalogue."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence

LANGUAGES = ("en", "fr")
_current = "en"


def language_from(argv: Sequence[str], environ: Mapping[str, str]) -> str:
    for index, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and index + 1 < len(argv):
            return _pick(argv[index + 1])
        if arg.startswith("--lang="):
            return _pick(arg.partition("=")[2])
    if environ.get("OPENLLM_LANG"):
        return _pick(environ["OPENLLM_LANG"])
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if environ.get(name):
            return _pick(environ[name])
    return "en"


def _pick(value: str) -> str:
    return "fr" if value.strip().lower().startswith("fr") else "en"


def activate(language: str) -> None:
    """Use ``language`` from now on, argparse's words included."""
    global _current
    _current = language if language in LANGUAGES else "en"
    # argparse translates through the names it imported from gettext.
    names = vars(argparse)
    if "_" in names:
        names["_"] = gettext
    if "ngettext" in names:
        names["ngettext"] = ngettext


def current() -> str:
    return _current


def gettext(message: str) -> str:
    if _current == "fr" and isinstance(message, str):
        return FR.get(message, message)
    return message


_ = gettext


def ngettext(singular: str, plural: str, n: int) -> str:
    if _current == "fr":
        pair = FR_PLURALS.get((singular, plural))
        if pair:
            # French: 0 and 1 take the singular.
            return pair[0] if n in (0, 1) else pair[1]
        return singular if n in (0, 1) else plural
    return singular if n == 1 else plural


# ------------------------------------------------------------ numbers

def integer(n: int) -> str:
    if _current == "fr":
        return f"{n:,}".replace(",", "\u202f")
    return f"{n:,}"


def decimal(x: float, places: int = 1) -> str:
    text = f"{x:,.{places}f}"
    if _current == "fr":
        return text.replace(",", "\u202f").replace(".", ",")
    return text


def percent(x: float, places: int = 0) -> str:
    """``x`` out of 100."""
    value = decimal(x, places)
    return f"{value}\u00a0%" if _current == "fr" else f"{value}%"


def rate(x: float) -> str:
    """A share (0 to 1) as a percentage, with one decimal when small."""
    return percent(x * 100, 1 if 0 < x < 0.1 else 0)


_UNITS = {"en": ["B", "KiB", "MiB", "GiB", "TiB"], "fr": ["o", "Kio", "Mio", "Gio", "Tio"]}


def size(n: float) -> str:
    units = _UNITS[_current]
    value, unit = float(n), 0
    while value >= 1024 and unit < len(units) - 1:
        value, unit = value / 1024, unit + 1
    if unit == 0:
        return f"{integer(int(value))}\u00a0{units[0]}"
    return f"{decimal(value, 1)}\u00a0{units[unit]}"


def duration(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# ------------------------------------------------------------ catalogue

FR: dict[str, str] = {
    # argparse's own words
    "usage: ": "utilisation : ",
    "positional arguments": "arguments positionnels",
    "options": "options",
    "show this help message and exit": "afficher cette aide et quitter",
    "%(prog)s: error: %(message)s\n": "%(prog)s : erreur : %(message)s\n",
    "the following arguments are required: %s": "ces arguments sont requis : %s",
    "unrecognized arguments: %s": "arguments inconnus : %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "choix non valide : %(value)r (au choix : %(choices)s)",
    "argument %(argument_name)s: %(message)s": "argument %(argument_name)s : %(message)s",
    "expected one argument": "une valeur est attendue",
    "expected at most one argument": "une valeur au plus est attendue",
    "expected at least one argument": "au moins une valeur est attendue",
    "invalid %(type)s value: %(value)r": "valeur non valide (%(type)s) : %(value)r",
    "not allowed with argument %s": "incompatible avec l'argument %s",
    "ignored explicit argument %r": "valeur ignorée : %r",
    "one of the arguments %s is required": "l'un des arguments %s est requis",
    "ambiguous option: %(option)s could match %(matches)s": "option ambiguë : %(option)s peut désigner %(matches)s",
    "unexpected option string: %s": "option inattendue : %s",
    "unknown parser %(parser_name)r (choices: %(choices)s)":
        "commande inconnue %(parser_name)r (au choix : %(choices)s)",
    "argument \"-\" with mode %r": "argument « - » en mode %r",
    "can't open '%(filename)s': %(error)s": "impossible d'ouvrir « %(filename)s » : %(error)s",
    "show program's version number and exit": "afficher la version et quitter",
    # the network
    "no answer in time": "pas de réponse à temps",
    "connection refused": "connexion refusée",
    "the connection was closed": "la connexion a été fermée",
    "unknown host": "hôte inconnu",
    "TLS error: {reason}": "erreur TLS : {reason}",
    "Not found (HTTP 404): {url}": "Introuvable (HTTP 404) : {url}",
    "The server's answer is not the list expected.": "La réponse du serveur n'est pas la liste attendue.",
    "The server's answer is too large (more than {size}).": "La réponse du serveur est trop grande (plus de {size}).",
    "The server's list goes round in circles (it leads back to {url}).":
        "La liste du serveur tourne en rond (elle ramène à {url}).",
    "The server's list goes on past {n} pages: stopped.": "La liste du serveur dépasse {n} pages : arrêt.",
    "The server's list goes on past {n} results: stopped.": "La liste du serveur dépasse {n} résultats : arrêt.",
    "The server failed (HTTP {status}); try again later.":
        "Le serveur a échoué (HTTP {status}) ; réessayez plus tard.",
    "Unexpected answer from the server: HTTP {status}.": "Réponse inattendue du serveur : HTTP {status}.",
    "The server's answer (HTTP {status}) is not the JSON expected: is {url} the platform's address?":
        "La réponse du serveur (HTTP {status}) n'est pas le JSON attendu : {url} est-elle bien l'adresse de la "
        "plateforme ?",
    "Cannot reach {url}: {reason}": "Impossible de joindre {url} : {reason}",
    "the server answered HTTP {status}": "le serveur a répondu HTTP {status}",
    # the program and its options
    "Command-line client of the OpenLLM Europe contribution platform: describe corpora, upload their files "
    "(resumable uploads), submit them and follow their analysis; maintainers build and download dataset releases.":
        "Client en ligne de commande de la plateforme de contribution d'OpenLLM Europe : décrire des corpus, "
        "envoyer leurs fichiers (envois avec reprise), les soumettre et suivre leur analyse ; les mainteneurs "
        "construisent et téléchargent les versions du jeu de données.",
    "environment:\n"
    "  OPENLLM_URL     address of the platform\n"
    "  OPENLLM_TOKEN   personal token (else the one saved by “openllm login”)\n"
    "  OPENLLM_CONFIG  configuration file (default: ~/.config/openllm/config.json)\n"
    "  OPENLLM_STATE   uploads under way (default: ~/.cache/openllm/uploads.json)\n"
    "  OPENLLM_LANG    en or fr\n"
    "\n"
    "exit status: 0 done; 1 refused or failed by the server, unreachable server, file that does not check out; "
    "2 wrong command, option or input file; 130 interrupted.\n"
    "\n"
    "Each command has its own help: openllm COMMAND --help":
        "environnement :\n"
        "  OPENLLM_URL     adresse de la plateforme\n"
        "  OPENLLM_TOKEN   jeton personnel (sinon celui enregistré par « openllm login »)\n"
        "  OPENLLM_CONFIG  fichier de configuration (par défaut : ~/.config/openllm/config.json)\n"
        "  OPENLLM_STATE   envois en cours (par défaut : ~/.cache/openllm/uploads.json)\n"
        "  OPENLLM_LANG    en ou fr\n"
        "\n"
        "code de sortie : 0 terminé ; 1 refusé ou échoué côté serveur, serveur injoignable, fichier dont la "
        "vérification échoue ; 2 commande, option ou fichier d'entrée erronés ; 130 interrompu.\n"
        "\n"
        "Chaque commande a sa propre aide : openllm COMMANDE --help",
    "address of the platform (default: OPENLLM_URL, then the configuration file, then {url})":
        "adresse de la plateforme (par défaut : OPENLLM_URL, puis le fichier de configuration, puis {url})",
    "language of messages and help: en or fr (default: OPENLLM_LANG, then LC_ALL, LC_MESSAGES, LANG)":
        "langue des messages et de l'aide : en ou fr (par défaut : OPENLLM_LANG, puis LC_ALL, LC_MESSAGES, LANG)",
    "no progress bars or progress lines": "sans barre ni ligne de progression",
    "show the version and exit": "afficher la version et quitter",
    "commands": "commandes",
    "COMMAND": "COMMANDE",
    "print the server's JSON": "afficher le JSON du serveur",
    # login, logout, whoami
    "check a personal token and save it for this address":
        "vérifier un jeton personnel et l'enregistrer pour cette adresse",
    "Check a personal token (made on your profile page on the site) and save it in the configuration file "
    "(readable by you only), for this address. Without --token, the token is read from standard input, or asked "
    "for on a terminal.":
        "Vérifie un jeton personnel (créé sur votre page de profil du site) et l'enregistre dans le fichier de "
        "configuration (lisible par vous seul), pour cette adresse. Sans --token, le jeton est lu sur l'entrée "
        "standard, ou demandé dans un terminal.",
    "the token (visible to other users of this machine in the list of processes: prefer standard input)":
        "le jeton (visible des autres utilisateurs de cette machine dans la liste des processus : préférez "
        "l'entrée standard)",
    "forget the token saved for this address": "oublier le jeton enregistré pour cette adresse",
    "show whose token is in use": "afficher à qui appartient le jeton utilisé",
    "No token given.": "Aucun jeton donné.",
    "Token for {url}: ": "Jeton pour {url} : ",
    "Signed in to {url} as {name} ({email}, {role}).": "Connecté à {url} en tant que {name} ({email}, {role}).",
    "Token saved in {path}.": "Jeton enregistré dans {path}.",
    "Warning: {url} is not HTTPS: the token travels unencrypted.":
        "Attention : {url} n'est pas en HTTPS : le jeton circule en clair.",
    "Token for {url} forgotten.": "Jeton pour {url} oublié.",
    "No token was kept for {url}.": "Aucun jeton n'était enregistré pour {url}.",
    "{name} ({email}, {role}) on {url}": "{name} ({email}, {role}) sur {url}",
    "No token for {url}: run “{prog} login” (a personal token is made on your profile page on the site), or set "
    "OPENLLM_TOKEN.":
        "Aucun jeton pour {url} : lancez « {prog} login » (un jeton personnel se crée sur votre page de profil du "
        "site), ou définissez OPENLLM_TOKEN.",
    "Make a personal token on your profile page on the site, then run: {prog} login":
        "Créez un jeton personnel sur votre page de profil du site, puis lancez : {prog} login",
    "member": "membre",
    "reviewer": "relecteur",
    "maintainer": "mainteneur",
    # corpora
    "list your corpora, newest first": "lister vos corpus, du plus récent au plus ancien",
    "only the corpora in this status": "seulement les corpus dans cet état",
    "create or show a corpus": "créer ou afficher un corpus",
    "create a corpus (a draft), and upload its files": "créer un corpus (un brouillon) et envoyer ses fichiers",
    "Create a corpus from options, or from a YAML file with the same keys as the API (options given win over the "
    "file), and print its id. Files or folders named after the options are uploaded to it at once.":
        "Crée un corpus à partir des options, ou d'un fichier YAML aux mêmes clés que l'API (les options données "
        "l'emportent sur le fichier), et affiche son identifiant. Les fichiers ou dossiers nommés après les options "
        "y sont envoyés aussitôt.",
    "metadata": "métadonnées",
    "FILE": "FICHIER",
    "YAML file of the metadata (- for standard input)": "fichier YAML des métadonnées (- pour l'entrée standard)",
    "title": "titre",
    "description: what the text is, where it comes from": "description : ce qu'est le texte, d'où il vient",
    "CODE": "CODE",
    "language of the text, such as fr (repeat the option for several)":
        "langue du texte, par exemple fr (répétez l'option pour plusieurs)",
    "license, by SPDX id, such as etalab-2.0 or CC-BY-4.0":
        "licence, par identifiant SPDX, par exemple etalab-2.0 ou CC-BY-4.0",
    "domain, such as news, legal, administrative, literature":
        "domaine, par exemple news, legal, administrative, literature",
    "where the text comes from": "d'où vient le texte",
    "TEXT": "TEXTE",
    "how the text was collected": "comment le texte a été collecté",
    "YEAR": "ANNÉE",
    "first year covered": "première année couverte",
    "last year covered": "dernière année couverte",
    "you hold the rights to this text, or its license lets you share it":
        "vous détenez les droits sur ce texte, ou sa licence vous permet de le partager",
    "the text was gathered from the web": "le texte a été collecté sur le web",
    "the sites' text and data mining opt-outs were respected":
        "les oppositions des sites à la fouille de textes et de données ont été respectées",
    "the text may contain personal data": "le texte peut contenir des données personnelles",
    "PATH": "CHEMIN",
    "files or folders to upload to the new corpus": "fichiers ou dossiers à envoyer dans le nouveau corpus",
    "print the server's JSON of the corpus": "afficher le JSON du corpus renvoyé par le serveur",
    "show a corpus's metadata": "afficher les métadonnées d'un corpus",
    "CORPUS": "CORPUS",
    "the corpus's id": "l'identifiant du corpus",
    "Corpus {id} created ({status}).": "Corpus {id} créé ({status}).",
    "No corpus yet: {prog} corpus create --help": "Aucun corpus pour l'instant : {prog} corpus create --help",
    "Status": "État",
    "Version": "Version",
    "License": "Licence",
    "Languages": "Langues",
    "Domain": "Domaine",
    "Documents": "Documents",
    "Words": "Mots",
    "ID": "ID",
    "STATUS": "ÉTAT",
    "DOCUMENTS": "DOCUMENTS",
    "WORDS": "MOTS",
    "LICENSE": "LICENCE",
    "TITLE": "TITRE",
    "metadata file (YAML), for example:\n{example}\nkeys: {keys}\n\nexample:\n  {command}":
        "fichier de métadonnées (YAML), par exemple :\n{example}\nclés : {keys}\n\nexemple :\n  {command}",
    "{path}: cannot be read ({reason}).": "{path} : illisible ({reason}).",
    "{path}: not valid YAML: {problem}": "{path} : YAML non valide : {problem}",
    "{path}: the metadata must be a mapping of keys to values.":
        "{path} : les métadonnées doivent associer des valeurs à des clés.",
    "{path}: unknown key “{key}” (the keys are: {keys}).": "{path} : clé « {key} » inconnue (les clés sont : {keys}).",
    # upload
    "upload files to a corpus (resumable)": "envoyer des fichiers dans un corpus (avec reprise)",
    "Upload files, or the files of folders (those of a supported type: {types}), to one of your corpora. An "
    "interrupted upload resumes where the server stopped when the same command runs again.":
        "Envoie des fichiers, ou les fichiers de dossiers (ceux d'un type accepté : {types}), dans l'un de vos "
        "corpus. Un envoi interrompu reprend là où le serveur s'est arrêté quand la même commande est relancée.",
    "example:\n  openllm upload 42 ./texts/ extra.jsonl --chunk-size 16M":
        "exemple :\n  openllm upload 42 ./textes/ extra.jsonl --chunk-size 16M",
    "files or folders": "fichiers ou dossiers",
    "upload options": "options d'envoi",
    "how plain text files are cut into documents: one per file (default), on blank lines, or on a separator line":
        "comment les fichiers de texte brut sont découpés en documents : un par fichier (par défaut), aux lignes "
        "vides, ou à une ligne de séparation",
    "LINE": "LIGNE",
    "the separator line, with --split separator": "la ligne de séparation, avec --split separator",
    "NAME": "NOM",
    "the column holding the text in CSV, TSV and Parquet files (default: text)":
        "la colonne qui contient le texte dans les fichiers CSV, TSV et Parquet (par défaut : text)",
    "SIZE": "TAILLE",
    "bytes sent per request, such as 8M (default) or 512K":
        "octets envoyés par requête, par exemple 8M (par défaut) ou 512K",
    "how many times a request is tried again after a network or server error (default: 5)":
        "combien de fois une requête est retentée après une erreur du réseau ou du serveur (par défaut : 5)",
    "{name}: added (file {id}).": "{name} : ajouté (fichier {id}).",
    "{name}: resuming at {offset} of {size}.": "{name} : reprise à {offset} sur {size}.",
    "{name}: {reason}; trying again in {seconds} s ({attempt} of {tries}).":
        "{name} : {reason} ; nouvel essai dans {seconds} s ({attempt} sur {tries}).",
    "{name}: giving up after {tries} tries ({reason}). Run the same command again to resume the upload.":
        "{name} : abandon après {tries} essais ({reason}). Relancez la même commande pour reprendre l'envoi.",
    "The server gave no address for the upload.": "Le serveur n'a pas donné d'adresse pour l'envoi.",
    "The server did not say where the upload is.": "Le serveur n'a pas dit où en est l'envoi.",
    "the server's offset does not move on (it stays at {offset} of {size})":
        "l'envoi n'avance pas sur le serveur (il en reste à {offset} sur {size})",
    "{name}: the server did not confirm the file.": "{name} : le serveur n'a pas confirmé le fichier.",
    "{name}: the file became shorter while it was being sent.":
        "{name} : le fichier a raccourci pendant son envoi.",
    "{name}: warning: the file changed while it was being sent.":
        "{name} : attention : le fichier a changé pendant son envoi.",
    "{path}: no file of a supported type in this folder ({types}).":
        "{path} : aucun fichier d'un type accepté dans ce dossier ({types}).",
    "{path}: not a file or a folder.": "{path} : ni un fichier ni un dossier.",
    "{path}: no such file or folder.": "{path} : fichier ou dossier introuvable.",
    "{speed}/s": "{speed}/s",
    "{name}: {progress}": "{name} : {progress}",
    "{name}: the server dropped the upload while it was being sent; try again later.":
        "{name} : le serveur a abandonné l'envoi en cours de route ; réessayez plus tard.",
    "unexpected error ({kind}: {error}); OPENLLM_DEBUG=1 shows where.":
        "erreur inattendue ({kind} : {error}) ; OPENLLM_DEBUG=1 montre où.",
    "{time} left": "encore {time}",
    "Interrupted. An upload resumes where it stopped when the same command runs again.":
        "Interrompu. Un envoi reprend là où il s'est arrêté quand la même commande est relancée.",
    # submit, status, report
    "submit a corpus for analysis and review": "soumettre un corpus à l'analyse et à la relecture",
    "show a corpus's status and its analysis": "afficher l'état d'un corpus et son analyse",
    "wait until the analysis is done or failed, then print its report":
        "attendre que l'analyse soit terminée ou échouée, puis afficher son rapport",
    "SECONDS": "SECONDES",
    "with --wait, give up after so many seconds (default: never)":
        "avec --wait, abandonner après ce nombre de secondes (par défaut : jamais)",
    "Corpus {id} submitted: its analysis is queued.": "Corpus {id} soumis : son analyse est en file d'attente.",
    "Still not finished after {seconds} s: {state}": "Toujours pas terminé après {seconds} s : {state}",
    "Corpus {id}: {status} (version {version})": "Corpus {id} : {status} (version {version})",
    "No analysis yet: submit the corpus (openllm submit).":
        "Pas encore d'analyse : soumettez le corpus (openllm submit).",
    "Analysis: {status}": "Analyse : {status}",
    "Reason: {error}": "Raison : {error}",
    "Documents: {n}": "Documents : {n}",
    "skipped: {empty} empty, {bad} unreadable": "écartés : {empty} vides, {bad} illisibles",
    "Words: {words}; characters: {chars}": "Mots : {words} ; caractères : {chars}",
    "Languages: {languages}": "Langues : {languages}",
    "Personal data found:": "Données personnelles trouvées :",
    "Personal data found: none": "Données personnelles trouvées : aucune",
    "{kind}: {occurrences} in {documents}": "{kind} : {occurrences} dans {documents}",
    "Duplicates: {within} exact within the corpus, {accepted} of accepted data, {near} near-duplicates":
        "Doublons : {within} exacts dans le corpus, {accepted} de données acceptées, {near} quasi-doublons",
    "Quality flags:": "Signaux de qualité :",
    "Quality flags: none": "Signaux de qualité : aucun",
    "{flag}: {documents} ({rate})": "{flag} : {documents} ({rate})",
    "Encoding repaired in {documents}": "Encodage réparé dans {documents}",
    "Draft": "Brouillon",
    "Submitted": "Soumis",
    "Processing": "En analyse",
    "Awaiting review": "En attente de relecture",
    "Changes requested": "Modifications demandées",
    "Approved": "Approuvé",
    "Queued for training": "En file pour l'entraînement",
    "Released": "Publié",
    "Rejected": "Rejeté",
    "Withdrawn": "Retiré",
    "Failed": "Échoué",
    "Queued": "En file d'attente",
    "Running": "En cours",
    "Done": "Terminé",
    "Cancelled": "Annulé",
    "email addresses": "adresses e-mail",
    "phone numbers": "numéros de téléphone",
    "IBANs": "IBAN",
    "French social security numbers (NIR)": "numéros de sécurité sociale (NIR)",
    "payment card numbers": "numéros de carte de paiement",
    "IP addresses": "adresses IP",
    "fewer than 50 words": "moins de 50 mots",
    "more than 100,000 words": "plus de 100 000 mots",
    "many symbols (# or ellipses) for its words": "beaucoup de symboles (# ou points de suspension) pour leurs mots",
    "many lines ending with an ellipsis": "beaucoup de lignes finissant par des points de suspension",
    "almost only bullet lines": "presque uniquement des lignes à puces",
    "many words without letters": "beaucoup de mots sans lettres",
    "unusual mean word length": "une longueur moyenne de mot inhabituelle",
    "many repeated lines": "beaucoup de lignes répétées",
    "one word pair repeated throughout": "une même paire de mots répétée partout",
    "hardly any common words of its language": "presque aucun mot courant de leur langue",
    "placeholder text (lorem ipsum)": "du texte de remplissage (lorem ipsum)",
    "mentions of JavaScript (web page residue)": "des mentions de JavaScript (restes de pages web)",
    "cookie banner text": "du texte de bandeau de cookies",
    "curly braces (code or templates)": "des accolades (code ou gabarits)",
    "few lines ending with punctuation": "peu de lignes finissant par une ponctuation",
    "mostly very short lines": "surtout des lignes très courtes",
    "no language holds a clear majority of the text": "aucune langue ne domine nettement le texte",
    # releases
    "build, follow and download dataset releases (maintainers)":
        "construire, suivre et télécharger les versions du jeu de données (mainteneurs)",
    "build a release from the corpora ready for training":
        "construire une version à partir des corpus prêts pour l'entraînement",
    "Build a release from the corpora ready for training, filtered by license, language, domain and quality flag "
    "(each option can be repeated). A worker builds it: --wait follows it.":
        "Construit une version à partir des corpus prêts pour l'entraînement, filtrés par licence, langue, domaine "
        "et signal de qualité (chaque option peut être répétée). Un worker la construit : --wait la suit.",
    "example:\n  openllm release build 2026-12 --license etalab-2.0 --license CC-BY-4.0 --language fr --public --wait":
        "exemple :\n  openllm release build 2026-12 --license etalab-2.0 --license CC-BY-4.0 --language fr "
        "--public --wait",
    "VERSION": "VERSION",
    "the release's version, such as 2026-12": "la version, par exemple 2026-12",
    "the release's version": "la version",
    "keep the corpora under this license": "garder les corpus sous cette licence",
    "keep the documents in this language": "garder les documents dans cette langue",
    "DOMAIN": "DOMAINE",
    "keep the corpora of this domain": "garder les corpus de ce domaine",
    "only this corpus (its number), ready for a release; none: every one":
        "seulement ce corpus (son numéro), prêt pour une version ; aucun : tous",
    "FLAG": "SIGNAL",
    "leave out the documents with this quality flag": "écarter les documents qui ont ce signal de qualité",
    "publish the release once built": "publier la version une fois construite",
    "wait until the build is done or failed": "attendre que la construction soit terminée ou échouée",
    "show a release's status and files": "afficher l'état et les fichiers d'une version",
    "download a release's files and check them": "télécharger les fichiers d'une version et les vérifier",
    "Download every file of a built release into a folder, checking the size and SHA-256 of each (a file is "
    "renamed into place only once checked; files already there and right are kept).":
        "Télécharge chaque fichier d'une version construite dans un dossier, en vérifiant la taille et le SHA-256 "
        "de chacun (un fichier ne prend sa place qu'une fois vérifié ; les fichiers déjà présents et justes sont "
        "gardés).",
    "FOLDER": "DOSSIER",
    "the folder to write the files to": "le dossier où écrire les fichiers",
    "Release {version} created: a worker builds it.": "Version {version} créée : un worker la construit.",
    "Release {version}: {status}": "Version {version} : {status}",
    "Release {version} is not built ({status}).": "La version {version} n'est pas construite ({status}).",
    "The server's answer does not list the release's files.":
        "La réponse du serveur ne donne pas la liste des fichiers de la version.",
    "{path}: already there, checked.": "{path} : déjà présent, vérifié.",
    "{path}: the download broke off ({reason}).": "{path} : le téléchargement s'est interrompu ({reason}).",
    "{path}: the server sent more than the {expected} bytes announced.":
        "{path} : le serveur a envoyé plus que les {expected} octets annoncés.",
    "{path}: cannot be written ({reason}).": "{path} : impossible à écrire ({reason}).",
    "{path}: {received} bytes received, {expected} expected.": "{path} : {received} octets reçus, {expected} attendus.",
    "{path}: the SHA-256 does not match (expected {expected}, received {received}).":
        "{path} : le SHA-256 ne correspond pas ({expected} attendu, {received} reçu).",
    "{path}: refused: this path or its checksum is not valid.":
        "{path} : refusé : ce chemin ou sa somme de contrôle n'est pas valide.",
    # errors and arguments
    "{prog}: error: {message}": "{prog} : erreur : {message}",
    "(field: {field})": "(champ : {field})",
    "“{value}” is not a size such as 8M, 512K or 1048576.":
        "« {value} » n'est pas une taille comme 8M, 512K ou 1048576.",
    "“{value}” is not a corpus id (a number).": "« {value} » n'est pas un identifiant de corpus (un nombre).",
    "“{value}” is not a year.": "« {value} » n'est pas une année.",
    "“{value}” is not a number of seconds.": "« {value} » n'est pas un nombre de secondes.",
    "“{value}” is not a release version (letters, digits, - and _).":
        "« {value} » n'est pas une version (lettres, chiffres, - et _).",
    "“{url}” is not the address of a site (http:// or https://).":
        "« {url} » n'est pas l'adresse d'un site (http:// ou https://).",
    "{path}: not a configuration file this program can read (JSON).":
        "{path} : pas un fichier de configuration que ce programme sait lire (JSON).",
}

FR_PLURALS: dict[tuple[str, str], tuple[str, str]] = {
    ("{n} document", "{n} documents"): ("{n} document", "{n} documents"),
    ("{n} file added", "{n} files added"): ("{n} fichier ajouté", "{n} fichiers ajoutés"),
    ("{n} refused.", "{n} refused."): ("{n} refusé.", "{n} refusés."),
    ("{n} record skipped:", "{n} records skipped:"): ("{n} enregistrement écarté :", "{n} enregistrements écartés :"),
    ("{n} file, {size}", "{n} files, {size}"): ("{n} fichier, {size}", "{n} fichiers, {size}"),
    ("{n} file failed.", "{n} files failed."): ("{n} fichier en échec.", "{n} fichiers en échec."),
    ("{n} file of release {version} in {folder}, checked.", "{n} files of release {version} in {folder}, checked."):
        ("{n} fichier de la version {version} dans {folder}, vérifié.",
         "{n} fichiers de la version {version} dans {folder}, vérifiés."),
}
