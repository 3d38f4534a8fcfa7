from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from .. import (
    accounts,
    fragments,
    jobs,
    lifecycle,
    moderation,
    notifications,
    operations,
    releases,
    removals,
    review,
    submissions,
    tokens,
)
from ..analysis.documents import document_page, documents_page
from ..analysis.formats import safe_name
from ..analysis.labels import PERSONAL_DATA as PERSONAL_DATA_LABELS
from ..analysis.labels import QUALITY as QUALITY_LABELS
from ..decorators import AuthenticatedRequest, maintainer_required, reviewer_required
from ..forms import (
    AbuseReportForm,
    ApiTokenForm,
    CommentForm,
    CorpusForm,
    DecisionForm,
    DeleteAccountForm,
    ExclusionForm,
    GuidelinesForm,
    ProfileForm,
    ReinstateForm,
    ReleaseForm,
    RemovalRequestForm,
    ResolveForm,
    RoleForm,
    SuspendForm,
    UploadForm,
)
from ..health import health_check
from ..lifecycle import PUBLISHED
from ..models import (
    LANGUAGES,
    AbuseReport,
    AccountEvent,
    AnalysisRun,
    ApiToken,
    Comment,
    Corpus,
    CorpusEvent,
    CorpusFile,
    Domain,
    Exclusion,
    JobStatus,
    License,
    Notification,
    ReleaseEntry,
    RemovalRequest,
    Review,
    ReviewGuidelines,
    Role,
    RoleChange,
    TrainingVersion,
    User,
)
from ..ratelimits import rate_limit
from ..stats import stats_cached
from ..texts import message, message_dump, message_render


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "contributions/home.html", {"totals": stats_cached()["totals"]})


@require_http_methods(["GET", "POST"])
def agreement(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect("account_login")
        accounts.agreement_accept(user=request.user)
        messages.success(request, _("Thank you: you accepted the contributor agreement."))
        return redirect(next_url or "contributions:home")
    accepted = request.user.is_authenticated and accounts.agreement_is_current(user=request.user)
    return render(
        request,
        "contributions/agreement.html",
        {"version": accounts.agreement_current_version(), "accepted": accepted, "next": next_url},
    )


@require_http_methods(["GET", "POST"])
@login_required
def profile(request: AuthenticatedRequest) -> HttpResponse:
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        accounts.profile_update(user=request.user, **form.cleaned_data)
        if request.user.language:
            translation.activate(request.user.language)  # the message below is in the language just chosen
        messages.success(request, _("Your profile has been saved."))
        return redirect("contributions:profile")
    return render(request, "contributions/profile.html", {"form": form})


@require_GET
@login_required
@never_cache
def profile_export(request: AuthenticatedRequest) -> HttpResponse:
    data = accounts.user_export_data(user=request.user)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="openllm-my-data.json"'
    return response


@require_http_methods(["GET", "POST"])
@login_required
def profile_delete(request: AuthenticatedRequest) -> HttpResponse:
    form = DeleteAccountForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            accounts.user_delete(user=request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
            return redirect("contributions:profile")
        logout(request)
        messages.success(request, _("Your account has been deleted."))
        return redirect("contributions:home")
    return render(request, "contributions/profile_delete.html", {"form": form})


@require_http_methods(["GET", "POST"])
@login_required
@never_cache
def api_tokens(request: AuthenticatedRequest) -> HttpResponse:
    """The member's personal API tokens. A new token's key is shown in the
    answer to its creation, once: only its hash is kept."""
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    created = None
    if request.method == "POST" and form.is_valid():
        try:
            token, key = tokens.token_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            created = {"token": token, "key": key}
            form = ApiTokenForm()
    return render(request, "contributions/api_tokens.html", {
        "form": form, "created": created, "tokens": tokens.tokens_of(user=request.user)[:100],
    })


@require_POST
@login_required
def api_token_revoke(request: AuthenticatedRequest, token_id: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=token_id, user=request.user)
    tokens.token_revoke(token=token, actor=request.user)
    messages.success(request, _("Token “%(name)s” revoked: it no longer opens the API.") % {"name": token.name})
    return redirect("contributions:api_tokens")


@require_GET
@maintainer_required
def roles(request: AuthenticatedRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")

    def context() -> dict:
        members = User.objects.order_by("email")
        if query:
            members = members.filter(Q(email__icontains=query) | Q(display_name__icontains=query))
        if request.GET.get("role") in Role.values:
            members = members.filter(role=request.GET["role"])
        if status == "suspended":
            members = members.filter(is_active=False)
        page = Paginator(accounts.members_with_suspension(members), 50).get_page(request.GET.get("page"))
        return {"page": page, "query": query, "status": status, "roles": Role.choices}

    # Members join and leave (the count), change role or are suspended (a
    # new row of their history each time); a new name shows within a minute.
    members = fragments.fragment_render(
        request=request, name="roles",
        state=(request.user.pk, fragments.page_state(
            request, fragments.newest(User, RoleChange, AccountEvent, counted=[User]),
        )),
        template="contributions/_roles.html", context=context, with_forms=True,
    )
    return render(request, "contributions/roles.html", {"members": members})


@require_POST
@maintainer_required
def role_update(request: AuthenticatedRequest, user_id: int) -> HttpResponse:
    member = get_object_or_404(User, pk=user_id)
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a valid role."))
        return redirect("contributions:roles")
    try:
        accounts.role_set(actor=request.user, user=member, role=form.cleaned_data["role"])
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(
            request,
            _("%(member)s is now %(role)s.") % {"member": member.email, "role": Role(form.cleaned_data["role"]).label},
        )
    return redirect("contributions:roles")


@require_GET
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    state = health_check()
    healthy = all(value == "ok" for value in state.values())
    return JsonResponse({"status": "ok" if healthy else "error", **state}, status=200 if healthy else 503)


# ---------------------------------------------------------------- corpora


def _own_corpus(request: AuthenticatedRequest, pk: int) -> Corpus:
    """The corpus, for its submitter only: to anyone else it does not exist."""
    return get_object_or_404(Corpus, pk=pk, submitter=request.user)


@require_GET
@login_required
def corpus_list(request: AuthenticatedRequest) -> HttpResponse:
    # Every change of a corpus (status, metadata, files) moves its updated_at.
    state = fragments.page_state(request, fragments.rows_of(Corpus, "submitter_id", request.user.pk,
                                                            changed="updated_at"))

    def context() -> dict:
        corpora = (
            Corpus.objects.filter(submitter=request.user).only("title", "license", "status", "created_at")
            .annotate(file_count=Count("files"))
            .order_by("-created_at", "-id")
        )
        page = Paginator(corpora, PER_PAGE).get_page(request.GET.get("page"))
        return {"page": page, "corpora": page.object_list}

    table = fragments.fragment_render(
        request=request, name="my-corpora", state=(request.user.pk, state), template="contributions/_my_corpora.html",
        context=context,
    )
    return render(request, "contributions/corpus_list.html", {"table": table})


@require_http_methods(["GET", "POST"])
@login_required
def corpus_new(request: AuthenticatedRequest) -> HttpResponse:
    form = CorpusForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        corpus = submissions.corpus_create(submitter=request.user, **form.cleaned_data)
        messages.success(request, _("Corpus created. Now add its files."))
        return redirect("contributions:corpus_detail", pk=corpus.pk)
    return render(request, "contributions/corpus_form.html", {"form": form})


# Every list of a page shows at most this many rows.
PER_PAGE = 50


def _latest(items: QuerySet, limit: int = PER_PAGE) -> list:
    """The last ``limit`` items of a list in time order (events, comments),
    still in time order: a long discussion shows its end."""
    ordering = [str(f) for f in items.query.order_by or items.model._meta.ordering]
    newest_first = items.order_by(*(f[1:] if f.startswith("-") else f"-{f}" for f in ordering))[:limit]
    return list(reversed(newest_first))


def _report_html(analysis: AnalysisRun | None, part: str = "") -> str | None:
    """The analysis report rendered, kept in the cache: the report of a
    finished run never changes, and its tables and sample cost more than the
    rest of the page. ``part``: "summary" (figures and warnings) or
    "details" (the rest), for the review page; all of it by default."""
    if analysis is None or not analysis.is_done:
        return None
    key = f"report-html:3:{analysis.pk}:{analysis.attempt}:{get_language()}:{part}"
    html = cache.get(key)
    if html is None:
        html = render_to_string("contributions/_report.html", {
            "report": analysis.report, "pii_labels": PERSONAL_DATA_LABELS, "quality_labels": QUALITY_LABELS,
            "part": part,
        })
        cache.set(key, html, 24 * 3600)
    return mark_safe(html)  # rendered (and escaped) by the template above


def _analysis_context(corpus: Corpus) -> dict:
    """What the live parts of a corpus page show: its status and its analysis."""
    # The report is read from the database only when its rendering is not
    # in the cache (or to list a failed run's problems).
    analysis = corpus.analyses.defer("report", "shards").order_by("-created_at", "-id").first()
    return {
        "corpus": corpus,
        "analysis": analysis,
        "report_html": _report_html(analysis),
        "pii_labels": PERSONAL_DATA_LABELS,
        "quality_labels": QUALITY_LABELS,
    }


@require_GET
@login_required
def corpus_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    corpus = get_object_or_404(submissions.corpora_visible_to(request.user), pk=pk)
    is_owner = corpus.submitter_id == request.user.id

    def context() -> dict:
        return {
            **_analysis_context(corpus),
            "files": Paginator(corpus.files.all(), PER_PAGE).get_page(request.GET.get("files")),
            "is_owner": is_owner,
            "can_edit": is_owner and lifecycle.is_editable(corpus),
            "upload_form": fragments.blank_form(UploadForm),
            "max_files": settings.UPLOAD_MAX_FILES_PER_REQUEST,
            "max_size": settings.UPLOAD_MAX_FILE_SIZE,
            "reviews": corpus.reviews.all(),
            "events": _latest(corpus.events.select_related("actor")),
            "comments": _latest(corpus.comments.all()),
            "comment_form": fragments.blank_form(CommentForm),
        }

    # What the page shows moves the corpus's updated_at (status, description,
    # files), adds or deletes one of its rows, moves its latest analysis, or
    # changes the public releases (where its text went).
    body = fragments.fragment_render(
        request=request, name="corpus-page", with_forms=True,
        state=(request.user.pk, corpus.pk, corpus.version, corpus.updated_at, fragments.page_state(request, [
            *fragments.corpus_rows(corpus.pk, CorpusEvent, Comment, Review, CorpusFile, ReleaseEntry),
            *fragments.latest_job(AnalysisRun, corpus.pk), *fragments.public_releases(),
        ])),
        template="contributions/_corpus_detail.html", context=context,
    )
    return render(request, "contributions/corpus_detail.html", {"corpus": corpus, "body": body})


@require_http_methods(["GET", "POST"])
@login_required
def corpus_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    corpus = _own_corpus(request, pk)
    if not lifecycle.is_editable(corpus):
        messages.error(request, _("This corpus can no longer be changed: its review has started or ended."))
        return redirect("contributions:corpus_detail", pk=pk)
    form = CorpusForm(request.POST if request.method == "POST" else None, instance=corpus)
    if request.method == "POST" and form.is_valid():
        submissions.corpus_update(corpus=corpus, actor=request.user, **form.cleaned_data)
        messages.success(request, _("Saved."))
        return redirect("contributions:corpus_detail", pk=pk)
    return render(request, "contributions/corpus_form.html", {"form": form, "corpus": corpus})


@require_POST
@login_required
def corpus_upload(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    corpus = _own_corpus(request, pk)
    form = UploadForm(request.POST)
    uploads = request.FILES.getlist("files")
    for name in getattr(request, "oversized_uploads", []):
        messages.error(request, submissions.file_too_large_text(name=safe_name(name)))
    if len(uploads) > settings.UPLOAD_MAX_FILES_PER_REQUEST:
        messages.error(
            request,
            _("Too many files at once: %(count)s, at most %(limit)s per upload. Send them in several uploads, "
              "or in a .zip or .tar.gz archive.")
            % {"count": len(uploads), "limit": settings.UPLOAD_MAX_FILES_PER_REQUEST},
        )
        return redirect("contributions:corpus_detail", pk=pk)
    if not form.is_valid():
        messages.error(request, _("Check the upload options."))
        return redirect("contributions:corpus_detail", pk=pk)
    if not uploads and not getattr(request, "oversized_uploads", []):
        messages.error(request, _("Choose at least one file."))
    added = 0
    for upload in uploads:
        try:
            submissions.corpus_file_add(corpus=corpus, actor=request.user, upload=upload, **form.cleaned_data)
            added += 1
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    if added:
        messages.success(request, ngettext("%(count)d file added.", "%(count)d files added.", added) % {"count": added})
    return redirect("contributions:corpus_detail", pk=pk)


@require_POST
@login_required
def corpus_file_delete(request: AuthenticatedRequest, pk: int, file_id: int) -> HttpResponse:
    corpus = _own_corpus(request, pk)
    corpus_file = get_object_or_404(CorpusFile, pk=file_id, corpus=corpus)
    try:
        submissions.corpus_file_remove(corpus=corpus, actor=request.user, corpus_file=corpus_file)
        messages.success(request, _("%(name)s removed.") % {"name": corpus_file.original_name})
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect("contributions:corpus_detail", pk=pk)


@require_GET
@login_required
def corpus_file_download(request: AuthenticatedRequest, pk: int, file_id: int) -> FileResponse:
    corpus = get_object_or_404(submissions.corpora_visible_to(request.user), pk=pk)
    corpus_file = get_object_or_404(CorpusFile, pk=file_id, corpus=corpus)
    # Never rendered by the browser: an uploaded file is untrusted content.
    response = FileResponse(
        corpus_file.file.open("rb"), as_attachment=True, filename=corpus_file.original_name,
        content_type="application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@require_POST
@login_required
def corpus_submit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    corpus = _own_corpus(request, pk)
    try:
        submissions.corpus_submit(corpus=corpus, actor=request.user)
        messages.success(request, _("Submitted: the analysis has started."))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect("contributions:corpus_detail", pk=pk)


@require_POST
@login_required
def corpus_withdraw(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    corpus = _own_corpus(request, pk)
    try:
        submissions.corpus_withdraw(corpus=corpus, actor=request.user)
        messages.success(request, _("The corpus has been withdrawn."))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect("contributions:corpus_detail", pk=pk)


@require_GET
@login_required
@never_cache
def corpus_progress(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    corpus = get_object_or_404(submissions.corpora_visible_to(request.user), pk=pk)
    context = _analysis_context(corpus)
    analysis = context["analysis"]
    data: dict = {"corpus_status": corpus.status, "analysis": None}
    if analysis:
        data["analysis"] = {
            # A split analysis waits queued while its parts run.
            "status": JobStatus.RUNNING if analysis.is_running else analysis.status,
            "parts": analysis.parts_count,
            "documents_done": analysis.documents_done,
            "bytes_done": analysis.progress_done,
            "bytes_total": analysis.progress_total,
            "percent": analysis.percent,
            "eta_seconds": analysis.eta_seconds,
            "error": message_render(analysis.error),
        }
    data["active"] = lifecycle.job_is_active(analysis) or lifecycle.is_in_analysis(corpus)
    data["parts"] = {
        "corpus-status": render_to_string("contributions/_corpus_status.html", context, request=request),
        "analysis": render_to_string("contributions/_analysis.html", context, request=request),
    }
    return JsonResponse(data)


# ---------------------------------------------------------------- review


def _review_target(request: AuthenticatedRequest, pk: int) -> Corpus:
    corpus = get_object_or_404(Corpus, pk=pk)
    if corpus.submitter_id == request.user.id:
        raise PermissionDenied(_("You cannot review your own corpus."))
    return corpus


@require_GET
@reviewer_required
def review_document(request: AuthenticatedRequest, pk: int, doc_index: int) -> HttpResponse:
    """One document of the version under review, whole, with every finding."""
    corpus = _review_target(request, pk)
    analysis = review.review_analysis(corpus=corpus)
    number = review.parse_index(request.GET.get("page", "")) or 1
    page = document_page(run=analysis, doc_index=doc_index, page=number) if analysis else None
    if page is None:
        raise Http404
    return render(request, "contributions/review_document.html", {
        "corpus": corpus, "doc_index": doc_index, "document": page, "pii_labels": PERSONAL_DATA_LABELS,
    })


@require_GET
@reviewer_required
def review_queue(request: AuthenticatedRequest) -> HttpResponse:
    filters = {key: request.GET.get(key, "") for key in ("language", "domain", "license")}
    max_documents = request.GET.get("max_documents", "")
    hide_claimed = request.GET.get("hide_claimed") == "1"
    required = review.approvals_required()

    def context() -> dict:
        corpora = review.review_queue_listing(
            reviewer=request.user, max_documents=review.parse_index(max_documents), hide_claimed=hide_claimed,
            **filters,
        )
        page = Paginator(corpora, PER_PAGE).get_page(request.GET.get("page"))
        return {
            "page": page, "required": required, "filters": filters, "max_documents": max_documents,
            "hide_claimed": hide_claimed,
            "language_choices": LANGUAGES, "domains": Domain.choices, "licenses": [(c, c) for c in License.values],
        }

    # The queue moves with every change of status (each records an event),
    # every decision and every claim; which corpora are the reviewer's own
    # never changes. A claim's expiry moves it too: the minute is in the state.
    claims = Corpus.objects.filter(claim_expires_at__gt=timezone.now()).values_list(
        "id", "claimed_by_id", "claim_expires_at")
    queue = fragments.fragment_render(
        request=request, name="review-queue",
        state=(request.user.pk, required, str(list(claims)), timezone.now().strftime("%H%M"),
               fragments.page_state(request, fragments.newest(CorpusEvent, Review))),
        template="contributions/_review_queue.html", context=context,
    )
    return render(request, "contributions/review_queue.html", {
        "queue": queue, "required": required, "next_corpus": review.review_next(reviewer=request.user),
    })


@require_GET
@reviewer_required
def review_corpus(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    corpus = _review_target(request, pk)
    following = review.review_next(reviewer=request.user, after=corpus)
    guidelines = review.guidelines_current()

    def context() -> dict:
        analysis = review.review_analysis(corpus=corpus)
        page_number = review.parse_index(request.GET.get("page", "")) or 1
        query, flag = request.GET.get("q", "").strip()[:200], request.GET.get("flag", "")
        personal_data = request.GET.get("pii") == "1"
        documents = (
            documents_page(run=analysis, page=page_number, query=query, flag=flag, personal_data=personal_data)
            if analysis else None
        )
        # Of the documents excluded one by one (tens of thousands, after a
        # bulk step), only those of this page are read, and the rest counted.
        excluded = corpus.exclusions.filter(corpus_version=corpus.version, kind=Exclusion.Kind.DOCUMENT)
        shown = [str(doc["doc_index"]) for doc in documents["documents"]] if documents else []
        return {
            "corpus": corpus, "analysis": analysis, "report_html": _report_html(analysis, part="details"),
            "report_summary": _report_html(analysis, part="summary"),
            "warnings": review.review_warnings(corpus=corpus, analysis=analysis),
            "documents": documents, "query": query, "flag": flag, "personal_data": personal_data,
            "filtered": bool(query or flag or personal_data),
            # Document number -> its exclusion, to put it back.
            "excluded_documents": dict(
                (int(v), pk) for v, pk in excluded.filter(value__in=shown).values_list("value", "pk")
            ),
            "exclusions": corpus.exclusions.filter(corpus_version=corpus.version).exclude(kind=Exclusion.Kind.DOCUMENT),
            "excluded_count": excluded.count(),
            "exclusion_kinds": Exclusion.Kind,
            "bulk_last": review.exclusion_bulk_last(corpus=corpus, reviewer=request.user),
            "guidelines": guidelines, "guidelines_language": settings.LANGUAGE_CODE,
            "next_corpus": following,
            "reviews": corpus.reviews.select_related("reviewer").order_by("corpus_version", "created_at"),
            "already_decided": review.review_decided(corpus=corpus, reviewer=request.user),
            "decision_form": fragments.blank_form(DecisionForm), "comment_form": fragments.blank_form(CommentForm),
            "comments": _latest(corpus.comments.all()), "events": _latest(corpus.events.select_related("actor")),
            "changes": review.corpus_changes(corpus=corpus), "required": review.approvals_required(),
            "pii_labels": PERSONAL_DATA_LABELS, "quality_labels": QUALITY_LABELS,
        }

    # The analysis of a version never changes once done; everything else the
    # page shows moves the corpus's updated_at (status, description) or adds
    # or deletes one of its rows.
    body = fragments.fragment_render(
        request=request, name="review-page", with_forms=True,
        state=(request.user.pk, corpus.pk, corpus.version, corpus.updated_at, corpus.claimed_by_id,
               str(corpus.claim_expires_at), review.claim_is_active(corpus),
               guidelines.version if guidelines else None,
               following.pk if following else None,
               fragments.page_state(request, [
                   *fragments.corpus_rows(corpus.pk, CorpusEvent, Comment, Review, Exclusion, CorpusFile),
                   *fragments.latest_job(AnalysisRun, corpus.pk),
               ])),
        template="contributions/_review_corpus.html", context=context,
    )
    return render(request, "contributions/review_corpus.html", {"corpus": corpus, "body": body})


@require_GET
@reviewer_required
@never_cache
def review_live(request: AuthenticatedRequest, pk: int) -> JsonResponse:
    """Who is on the corpus, for the open review pages (a claim made by
    another reviewer shows without reloading)."""
    corpus = _review_target(request, pk)
    html = render_to_string("contributions/_review_claim.html", {
        "corpus": corpus, "already_decided": review.review_decided(corpus=corpus, reviewer=request.user),
    }, request=request)
    return JsonResponse({"parts": {"review-claim": html}, "active": lifecycle.awaiting_review(corpus)})


@require_POST
@reviewer_required
def review_claim(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    corpus = _review_target(request, pk)
    if request.POST.get("release"):
        if review.corpus_claim_release(corpus=corpus, reviewer=request.user):
            messages.success(request, _("The corpus is free for other reviewers again."))
    else:
        try:
            review.corpus_claim(corpus=corpus, reviewer=request.user)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, _("Other reviewers see that you are on this corpus."))
    return redirect("contributions:review_corpus", pk=pk)


@require_POST
@reviewer_required
def review_exclude_bulk(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Exclude the documents ticked, or all those the filter matches; or
    undo the last such step."""
    corpus = _review_target(request, pk)
    back = request.POST.get("next", "")
    try:
        if request.POST.get("undo"):
            count = review.exclusion_bulk_undo(corpus=corpus, reviewer=request.user, batch=request.POST["undo"][:32])
            messages.success(request, ngettext(
                "%(count)s document is back in the corpus.", "%(count)s documents are back in the corpus.", count
            ) % {"count": count})
        else:
            selected = None
            if request.POST.get("scope") != "filter":
                numbers = map(review.parse_index, request.POST.getlist("document")[:1000])
                selected = [i for i in numbers if i is not None]
            _batch, count = review.exclusion_bulk_add(
                corpus=corpus, reviewer=request.user, documents=selected,
                query=request.POST.get("q", "").strip()[:200],
                flag=request.POST.get("flag", "")[:64], personal_data=request.POST.get("pii") == "1",
            )
            messages.success(request, ngettext(
                "%(count)s document excluded.", "%(count)s documents excluded.", count) % {"count": count})
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) and back.startswith("/"):
        return redirect(back)
    return redirect("contributions:review_corpus", pk=pk)


@require_http_methods(["GET", "POST"])
@reviewer_required
def review_guidelines(request: AuthenticatedRequest) -> HttpResponse:
    """The reviewing guidelines and their versions; maintainers publish a
    new version here."""
    current = review.guidelines_current()
    form = GuidelinesForm(request.POST or None, initial={
        "body": current.body if current else "", "based_on": current.version if current else None,
    })
    if request.method == "POST":
        if not request.user.is_maintainer:
            raise PermissionDenied
        if form.is_valid():
            try:
                guidelines = review.guidelines_publish(
                    author=request.user, body=form.cleaned_data["body"], based_on=form.cleaned_data["based_on"]
                )
            except ValidationError as exc:
                # The text stays, now based on the version the page shows:
                # once read, publishing again goes through.
                current = review.guidelines_current()
                data = request.POST.copy()
                data["based_on"] = str(current.version) if current else ""
                form = GuidelinesForm(data)
                form.is_valid()
                form.add_error("body", exc)
            else:
                messages.success(request, _("Version %(version)s of the guidelines is now in force.") % {
                    "version": guidelines.version})
                return redirect("contributions:review_guidelines")
    versions = ReviewGuidelines.objects.select_related("author").order_by("-version")
    return render(request, "contributions/review_guidelines.html", {
        "versions": versions[:50], "current": current, "form": form,
        # Written by the community in the site's own language.
        "guidelines_language": settings.LANGUAGE_CODE,
    })


@require_POST
@reviewer_required
def review_decide(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    corpus = _review_target(request, pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a decision."))
        return redirect("contributions:review_corpus", pk=pk)
    try:
        corpus = review.review_decide(corpus=corpus, reviewer=request.user, **form.cleaned_data)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("contributions:review_corpus", pk=pk)
    messages.success(request, _("Decision recorded on “%(title)s”: the corpus is now “%(status)s”.") % {
        "title": corpus.title, "status": corpus.get_status_display()})
    # On to the next corpus of the queue, as a reviewer works through it.
    following = review.review_next(reviewer=request.user, after=corpus)
    if following is not None:
        return redirect("contributions:review_corpus", pk=following.pk)
    return redirect("contributions:review_queue")


@require_POST
@reviewer_required
def review_exclude(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    corpus = _review_target(request, pk)
    form = ExclusionForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Unknown exclusion."))
        if request.POST.get("remove"):
            exclusion_id = review.parse_index(request.POST["remove"])
            if exclusion_id is None:
                raise ValidationError(_("Unknown exclusion."))
            review.exclusion_remove(corpus=corpus, reviewer=request.user, exclusion_id=exclusion_id)
        else:
            review.exclusion_add(corpus=corpus, reviewer=request.user, **form.cleaned_data)
    except (ValidationError, ValueError) as exc:
        messages.error(request, exc.messages[0] if isinstance(exc, ValidationError) else _("Unknown exclusion."))
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}) and back.startswith("/"):
        return redirect(back)
    return redirect("contributions:review_corpus", pk=pk)


@require_POST
@login_required
@rate_limit("comment")
def comment_post(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    corpus = get_object_or_404(submissions.corpora_visible_to(request.user), pk=pk)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            review.comment_post(corpus=corpus, author=request.user, body=form.cleaned_data["body"])
            messages.success(request, _("Comment posted."))
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
    else:
        messages.error(request, _("The comment is empty."))
    if request.user.is_reviewer and corpus.submitter_id != request.user.id:
        return redirect("contributions:review_corpus", pk=pk)
    return redirect("contributions:corpus_detail", pk=pk)


# ---------------------------------------------------------------- accepted data and moderation


@require_POST
@login_required
@rate_limit("report")
def data_report(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    corpus = get_object_or_404(Corpus, pk=pk, status__in=PUBLISHED)
    form = AbuseReportForm(request.POST)
    if form.is_valid():
        moderation.abuse_report(reporter=request.user, corpus=corpus, **form.cleaned_data)
        messages.success(request, _("Thank you: the maintainers will look at your report."))
    else:
        messages.error(request, _("Choose a reason."))
    return redirect("contributions:data_detail", pk=pk)


@require_GET
@maintainer_required
def reports_queue(request: AuthenticatedRequest) -> HttpResponse:
    reports = AbuseReport.objects.filter(status=AbuseReport.Status.OPEN).select_related("corpus", "reporter")
    handled = AbuseReport.objects.exclude(status=AbuseReport.Status.OPEN).select_related(
        "corpus", "handled_by").order_by("-handled_at")[:50]
    return render(request, "contributions/reports_queue.html", {"reports": reports, "handled": handled})


@require_POST
@maintainer_required
def report_resolve(request: AuthenticatedRequest, report_id: int) -> HttpResponse:
    report = get_object_or_404(AbuseReport, pk=report_id)
    form = ResolveForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Unknown action."))
        moderation.abuse_resolve(report=report, maintainer=request.user, **form.cleaned_data)
        messages.success(request, _("Report handled."))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect("contributions:reports_queue")


@require_http_methods(["GET", "POST"])
@maintainer_required
def member_suspend(request: AuthenticatedRequest, user_id: int) -> HttpResponse:
    member = get_object_or_404(User, pk=user_id)
    form = SuspendForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            moderation.user_suspend(actor=request.user, user=member, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
        else:
            messages.success(request, _("%(member)s is suspended.") % {"member": member.email})
        return redirect("contributions:roles")
    return render(
        request, "contributions/member_suspend.html",
        {"member": member, "form": form, "events": member.account_events.select_related("actor")},
    )


@require_POST
@maintainer_required
def member_reinstate(request: AuthenticatedRequest, user_id: int) -> HttpResponse:
    member = get_object_or_404(User, pk=user_id)
    form = ReinstateForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("The note is too long."))
        moderation.user_reinstate(actor=request.user, user=member, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("The suspension of %(member)s is lifted.") % {"member": member.email})
    return redirect("contributions:roles")


@require_GET
@maintainer_required
def reviewer_stats(request: AuthenticatedRequest) -> HttpResponse:
    def context() -> dict:
        stats = review.reviewer_agreement_cached()
        page = Paginator(stats["reviewers"], PER_PAGE).get_page(request.GET.get("page"))
        # Decisions are written when they are made: the latest by id, which the
        # primary key's index gives without sorting every review.
        recent = (
            Review.objects.select_related("reviewer", "corpus")
            .only("created_at", "corpus_version", "decision", "reviewer", "reviewer__email", "corpus", "corpus__title")
            .order_by("-id")[:PER_PAGE]
        )
        return {"stats": stats, "page": page, "recent": recent}

    # Agreement follows the decisions and the outcomes (changes of status).
    tables = fragments.fragment_render(
        request=request, name="reviewers", state=fragments.page_state(request, fragments.newest(Review, CorpusEvent)),
        template="contributions/_reviewer_stats.html", context=context,
    )
    return render(request, "contributions/reviewer_stats.html", {"tables": tables})


@require_http_methods(["GET", "POST"])
@login_required
def notification_list(request: AuthenticatedRequest) -> HttpResponse:
    if request.method == "POST":
        notifications.notifications_mark_read(user=request.user)
        return redirect("contributions:notifications")
    mine = Notification.objects.filter(user=request.user)
    # Notifications are added, and only ever change by being read.
    state = fragments.page_state(request, fragments.rows_of(Notification, "user_id", request.user.pk))

    def context() -> dict:
        items = (
            mine.select_related("corpus")
            .only("kind", "params", "message", "created_at", "read_at", "corpus", "corpus__title")
            .order_by("-created_at", "-id")
        )
        page = Paginator(items, PER_PAGE).get_page(request.GET.get("page"))
        return {"page": page, "items": page.object_list}

    listing = fragments.fragment_render(
        request=request, name="notifications", state=(request.user.pk, state, request.unread_notifications),
        template="contributions/_notifications.html", context=context,
    )
    return render(request, "contributions/notifications.html", {"listing": listing})


# ---------------------------------------------------------------- releases


@require_http_methods(["GET", "POST"])
@maintainer_required
def training_queue(request: AuthenticatedRequest) -> HttpResponse:
    candidates = Corpus.objects.filter(status__in=lifecycle.RELEASABLE)
    form = ReleaseForm(request.POST if request.method == "POST" else None, corpora=candidates)
    if request.method == "POST" and form.is_valid():
        try:
            release = releases.release_create(actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc.messages[0])
        else:
            messages.success(request, _("The release is being built."))
            return redirect("contributions:release_detail", version=release.version)
    picked = sorted(set(request.POST.getlist("corpora")))

    def context() -> dict:
        summary = releases.queue_summary()
        paginator = Paginator(releases.training_queue(), PER_PAGE)
        # Counted with the totals, and cached with them.
        paginator.count = summary["count"]
        page = paginator.get_page(request.GET.get("page"))
        return {
            "page": page, "entries": [{"corpus": v.corpus, "version": v} for v in page.object_list],
            "totals": summary["totals"], "ready": candidates.count(), "picked": picked,
        }

    # The queue and the corpora ready for a release change with a change of
    # status (each records an event) or a new training-ready version.
    queue = fragments.fragment_render(
        request=request, name="training-queue",
        state=(fragments.page_state(request, fragments.newest(CorpusEvent, TrainingVersion)), picked),
        template="contributions/_training_queue.html", context=context,
    )
    return render(
        request, "contributions/training_queue.html",
        {"queue": queue, "form": form, "form_html": None if form.is_bound else fragments.blank_form(ReleaseForm)},
    )


@require_http_methods(["GET", "POST"])
@rate_limit("removal")
def removal_new(request: HttpRequest) -> HttpResponse:
    form = RemovalRequestForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        removal = removals.removal_request_file(
            **form.cleaned_data, user=request.user if isinstance(request.user, User) else None,
            language=request.LANGUAGE_CODE,
        )
        if removal.confirmed_at:
            return redirect("contributions:removal_status", token=removals.removal_token(removal))
        # Nothing about the data here: only the owner of the address learns it.
        return render(request, "contributions/removal_sent.html", {"contact": removal.contact})
    return render(request, "contributions/removal_new.html", {"form": form})


def _removal(token: str) -> RemovalRequest:
    removal = removals.removal_from_token(token)
    if removal is None:
        raise Http404
    return removal


@require_http_methods(["GET", "POST"])
def removal_status(request: HttpRequest, token: str) -> HttpResponse:
    """The page behind the link sent to the requester: confirm, then follow
    the search and read its outcome."""
    removal = _removal(token)
    if request.method == "POST":
        removals.removal_confirm(removal=removal)
        return redirect("contributions:removal_status", token=token)
    return render(request, "contributions/removal_status.html", {"removal": removal, "token": token})


@require_GET
@never_cache
def removal_status_live(request: HttpRequest, token: str) -> JsonResponse:
    removal = _removal(token)
    search = getattr(removal, "search", None)
    return JsonResponse({
        "parts": {"removal-search": render_to_string(
            "contributions/_removal_search.html", {"removal": removal}, request=request)},
        "active": lifecycle.job_is_active(search),
    })


@require_GET
@maintainer_required
def removal_queue(request: AuthenticatedRequest) -> HttpResponse:
    # Requests whose address was never confirmed are nobody's yet.
    confirmed = RemovalRequest.objects.filter(confirmed_at__isnull=False).select_related("search")
    return render(
        request, "contributions/removal_queue.html",
        {"requests": confirmed.filter(status=RemovalRequest.Status.OPEN),
         "handled": confirmed.exclude(status=RemovalRequest.Status.OPEN).order_by("-handled_at")[:50]},
    )


@require_POST
@maintainer_required
def removal_decide(request: AuthenticatedRequest, request_id: int) -> HttpResponse:
    get_object_or_404(RemovalRequest, pk=request_id)
    try:
        removals.removal_decide(request_id=request_id, maintainer=request.user,
                                accept=request.POST.get("decision") == "accept")
        messages.success(request, _("Request handled."))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect("contributions:removal_queue")


# ---------------------------------------------------------------- operations


@require_GET
@maintainer_required
def operations_page(request: AuthenticatedRequest) -> HttpResponse:
    return render(request, "contributions/operations.html", {"ops": operations.operations_overview()})


@require_GET
@maintainer_required
@never_cache
def operations_live(request: AuthenticatedRequest) -> JsonResponse:
    html = render_to_string(
        "contributions/_operations.html", {"ops": operations.operations_overview()}, request=request
    )
    return JsonResponse({"parts": {"operations": html}, "active": True})


def _job(kind: str, job_id: int):
    if kind not in jobs.REGISTRY:
        raise Http404
    return get_object_or_404(jobs.REGISTRY[kind].model, pk=job_id)


@require_POST
@maintainer_required
def job_retry(request: AuthenticatedRequest, kind: str, job_id: int) -> HttpResponse:
    job = _job(kind, job_id)
    try:
        jobs.job_retry(job)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, _("The job is queued again."))
    return redirect("contributions:operations")


@require_POST
@maintainer_required
def job_cancel(request: AuthenticatedRequest, kind: str, job_id: int) -> HttpResponse:
    job = _job(kind, job_id)
    if jobs.job_cancel(job, reason=message_dump(message("job.cancelled_by_maintainer"))):
        messages.success(request, _("The job is cancelled."))
    else:
        messages.error(request, _("This job had already ended."))
    return redirect("contributions:operations")
