"""A member's dashboard, and the live parts that follow it and the
notification count in the navigation."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .. import dashboard
from ..decorators import AuthenticatedRequest


@require_GET
@login_required
def dashboard_page(request: AuthenticatedRequest) -> HttpResponse:
    overview = dashboard.dashboard_overview(user=request.user)
    return render(request, "contributions/dashboard.html", {"dashboard": overview})


@require_GET
@login_required
@never_cache
def dashboard_live(request: AuthenticatedRequest) -> JsonResponse:
    corpora = dashboard.corpora_recent(user=request.user)
    # Rendered without the request: the parts need no context processor (and its queries).
    html = render_to_string("contributions/_dashboard_corpora.html", {"corpora": corpora})
    return JsonResponse(
        {"parts": {"dashboard-corpora": html}, "active": dashboard.corpora_progress_active(corpora=corpora)}
    )


@require_GET
@login_required
@never_cache
def notifications_live(request: AuthenticatedRequest) -> JsonResponse:
    html = render_to_string(
        "contributions/_unread_count.html",
        {"unread_notifications": dashboard.notifications_unread_count(user=request.user)},
    )
    # The count is followed as long as the page is open.
    return JsonResponse({"parts": {"unread-count": html}, "active": True})
