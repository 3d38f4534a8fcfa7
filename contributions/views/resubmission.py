from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from .. import resubmission
from ..analysis.labels import PERSONAL_DATA as PERSONAL_DATA_LABELS
from ..decorators import AuthenticatedRequest, reviewer_required
from ..review import parse_index
from . import _review_target


@require_GET
@reviewer_required
def review_changes(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """The documents changed, removed and added between two analysed
    versions of a corpus (by default its last two), with word diffs."""
    corpus = _review_target(request, pk)
    runs = resubmission.corpus_analysed_versions(corpus=corpus)
    versions = sorted(runs)
    kind = request.GET.get("kind", "")
    kind = kind if kind in resubmission.KINDS else ""
    context = {
        "corpus": corpus, "versions": versions, "kind": kind,
        "pii_labels": PERSONAL_DATA_LABELS, "diff": None, "error": "", "unavailable": "",
        # The whole-document page shows the version under review only.
        "current_version": corpus.version,
    }
    try:
        pair = resubmission.version_pair_choose(
            versions=versions, from_raw=request.GET.get("from", "").strip(), to_raw=request.GET.get("to", "").strip()
        )
    except resubmission.VersionError as exc:
        context["error"] = str(exc)
        return render(request, "contributions/review_changes.html", context, status=404)
    if pair is not None:
        context["from_version"], context["to_version"] = pair
        try:
            context["diff"] = resubmission.corpus_version_diff(
                corpus=corpus, from_version=pair[0], to_version=pair[1], kind=kind,
                page=parse_index(request.GET.get("page", "")) or 1,
            )
        except resubmission.DiffUnavailable as exc:
            context["unavailable"] = str(exc)
    return render(request, "contributions/review_changes.html", context)
