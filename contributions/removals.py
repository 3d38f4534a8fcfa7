"""Removal requests: anyone asks whether their text or their address is in the
public data, and asks for it to be left out.

Nothing about the data is said on the page, where anyone could read it: the
requester first confirms the address they gave (a signed link sent to it,
unless they are signed in with that address verified), the search runs in a
worker as a job, over the latest *public* release only, and its outcome goes
to that address and to the page behind the link.
"""

from __future__ import annotations

from datetime import timedelta

import pyarrow.compute as pc
import pyarrow.parquet as pq
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from . import jobs
from .analysis.text import PersonalData, personal_data_key
from .emails import email_queue
from .models import (
    AnalysisRun,
    JobStatus,
    Notification,
    Release,
    RemovalRequest,
    RemovalSearch,
    RemovedDocument,
    User,
)
from .notifications import notify, site_url
from .releases import doc_id

SALT = "contributions.removal"
# The confirmation link works this long.
LINK_MAX_AGE = 7 * 24 * 3600
MAX_MATCHES = 1000
LINKS_PER_HOUR = 3


def removal_token(removal: RemovalRequest) -> str:
    return signing.dumps(removal.pk, salt=SALT)


def removal_from_token(token: str) -> RemovalRequest | None:
    try:
        pk = signing.loads(token, salt=SALT, max_age=LINK_MAX_AGE)
    except signing.BadSignature:
        return None
    return RemovalRequest.objects.filter(pk=pk).select_related("search").first()


def _email_key(email: str) -> str:
    return personal_data_key(PersonalData("email", 0, 0, email.strip())) if email.strip() else ""


def removal_request_file(
    *, kind: str, contact: str, phrase: str = "", search_address: bool = False, description: str = "",
    user: User | None = None, language: str = "",
) -> RemovalRequest:
    """File a request. The only address looked for is the requester's own
    (``contact``, which they confirm): nobody learns whether someone else's
    address is in the data. A signed-in member whose verified address is
    ``contact`` needs no confirmation; anyone else gets a link by email."""
    if not phrase.strip() and not search_address:
        raise ValidationError(_("Give a phrase, or ask to look for your address."))
    contact = contact.strip().lower()
    with transaction.atomic():
        removal = RemovalRequest.objects.create(
            kind=kind,
            contact=contact,
            phrase=phrase.strip()[:5000],
            description=description.strip()[:5000],
            email_key=_email_key(contact) if search_address else "",
            language=language or settings.LANGUAGE_CODE,
        )
        verified = user is not None and user.is_authenticated and EmailAddress.objects.filter(
            user=user, email__iexact=removal.contact, verified=True
        ).exists()
        if verified:
            removal_confirm(removal=removal)
            removal.refresh_from_db()
        elif not _recently_asked(contact, removal):
            _send(removal, "contributions/email/removal_confirm.txt", gettext_lazy("Confirm your removal request"))
    return removal


def _recently_asked(contact: str, removal: RemovalRequest) -> bool:
    """A few confirmation links an hour per address, whoever asks (and from
    however many networks): the form cannot flood someone's inbox."""
    return RemovalRequest.objects.filter(
        contact=contact, confirmed_at__isnull=True, created_at__gte=timezone.now() - timedelta(hours=1)
    ).exclude(pk=removal.pk).count() >= LINKS_PER_HOUR

def removal_confirm(*, removal: RemovalRequest) -> RemovalSearch:
    """The requester proved the address is theirs: search."""
    with transaction.atomic():
        removal = RemovalRequest.objects.select_for_update().get(pk=removal.pk)
        if removal.confirmed_at is None:
            removal.confirmed_at = timezone.now()
            removal.save(update_fields=["confirmed_at"])
        search, created = RemovalSearch.objects.get_or_create(request=removal)
        if created:
            jobs.job_enqueue(search)
    return search


def removal_search_run(search: RemovalSearch, context: jobs.JobContext) -> jobs.Done[RemovalSearch]:
    """The work of a removal search: the documents of the latest public
    release that hold the phrase exactly, or in which the analysis found the
    address (matched by its hash)."""
    removal = search.request
    release = Release.objects.filter(status=JobStatus.DONE, public=True).order_by("-created_at").first()
    if release is None:
        return jobs.Done(fields={"matches": [], "release": None}, then=_tell_outcome)
    parquet_files = [entry["path"] for entry in release.files if entry["path"].endswith(".parquet")]
    candidates = _email_candidates(release, removal.email_key, context) if removal.email_key else set()
    context.beat(force=True, progress_total=len(parquet_files))
    found: set[str] = set()
    for done, path in enumerate(parquet_files, start=1):
        with default_storage.open(f"{release.prefix}/{path}", "rb") as handle:
            for batch in pq.ParquetFile(handle).iter_batches(batch_size=2000, columns=["id", "text"]):
                ids = batch.column("id")
                if removal.phrase:
                    hits = batch.filter(pc.match_substring(batch.column("text"), removal.phrase))
                    found.update(hits.column("id").to_pylist())
                if candidates:
                    found.update(i for i in ids.to_pylist() if i in candidates)
                context.beat()
                # A phrase found everywhere ("e") says nothing more past
                # this many, and must not fill the worker's memory.
                if len(found) >= MAX_MATCHES:
                    break
        context.beat(progress_done=done)
        if len(found) >= MAX_MATCHES:
            break
    matches = sorted(found)[:MAX_MATCHES]
    return jobs.Done(fields={"matches": matches, "release": release}, then=_tell_outcome)


def _email_candidates(release: Release, key: str, context: jobs.JobContext) -> set[str]:
    """Ids of the released corpora's documents in which the analysis found
    the address; the release files then say which of them it carries."""
    found: set[str] = set()
    carried = [int(corpus_id) for corpus_id in release.stats.get("corpora", {})]
    for run in AnalysisRun.objects.filter(
        corpus_id__in=carried, status=JobStatus.DONE, corpus_version=F("corpus__version")
    ):
        for name in run.shards:
            with default_storage.open(name, "rb") as handle:
                for batch in pq.ParquetFile(handle).iter_batches(batch_size=2000, columns=["doc_index", "pii_keys"]):
                    for index, keys in zip(batch.column("doc_index").to_pylist(), batch.column("pii_keys").to_pylist()):
                        if keys and key in keys:
                            found.add(doc_id(run.corpus_id, run.corpus_version, index))
                    context.beat()
                    if len(found) >= MAX_MATCHES:
                        return found
    return found


def _tell_outcome(search: RemovalSearch) -> None:
    _send(search.request, "contributions/email/removal_outcome.txt",
          gettext_lazy("The outcome of your removal search"), search=search)


def _send(removal: RemovalRequest, template: str, subject: Promise, **context: object) -> None:
    """An email to the requester, in the language they asked in."""
    with translation.override(removal.language or settings.LANGUAGE_CODE):
        body = render_to_string(template, {
            "removal": removal, "url": site_url(reverse("contributions:removal_status", args=[removal_token(removal)])),
            **context,
        })
        email_queue(message=EmailMessage(f"[{settings.SITE_NAME}] {subject}", body, None, [removal.contact]))


@transaction.atomic
def removal_decide(*, request_id: int, maintainer: User, accept: bool) -> RemovalRequest:
    if not maintainer.is_maintainer:
        raise ValidationError(_("Only maintainers decide on removals."))
    removal = RemovalRequest.objects.select_for_update().get(pk=request_id)
    if removal.status != RemovalRequest.Status.OPEN:
        raise ValidationError(_("This request has already been handled."))
    # Nothing to decide on before the search has said what there is (and a
    # request never confirmed is nobody's).
    search = RemovalSearch.objects.filter(request=removal, status=JobStatus.DONE).first()
    if search is None:
        raise ValidationError(_("The search of this request has not finished."))
    removal.status = RemovalRequest.Status.ACCEPTED if accept else RemovalRequest.Status.REFUSED
    removal.handled_by, removal.handled_at = maintainer, timezone.now()
    removal.save(update_fields=["status", "handled_by", "handled_at"])
    if accept:
        for identifier in search.matches:
            RemovedDocument.objects.get_or_create(doc_id=identifier, defaults={"request": removal})
    _send(removal, "contributions/email/removal_decision.txt",
          gettext_lazy("The decision on your removal request"), search=search)
    # A member who asked with their own address hears of it in the site too.
    members = User.objects.filter(
        emailaddress__email__iexact=removal.contact, emailaddress__verified=True, is_active=True
    ).distinct()
    notify(users=list(members), kind=Notification.Kind.REMOVAL_OUTCOME, params={
        "accepted": accept, "documents": len(search.matches)}, email=False)
    return removal


def removal_search_retry(search: RemovalSearch) -> None:
    if search.request.status != RemovalRequest.Status.OPEN:
        raise ValidationError(_("This request has already been handled."))


jobs.register(
    jobs.JobKind(
        name="removal_search",
        label=gettext_lazy("Removal searches"),
        model=RemovalSearch,
        task="contributions.tasks.search_removal",
        run=removal_search_run,
        max_attempts=3,
        retry=jobs.Retry.BACKOFF,
        on_retry=removal_search_retry,
        describe=lambda search: _("removal request %(number)s") % {"number": search.request_id},
    )
)
