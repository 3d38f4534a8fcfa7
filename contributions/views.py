from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import accounts
from .decorators import maintainer_required
from .forms import DeleteAccountForm, ProfileForm, RoleForm
from .health import health_check
from .models import Role, User


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "contributions/home.html")


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
def profile(request: HttpRequest) -> HttpResponse:
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        accounts.profile_update(user=request.user, **form.cleaned_data)
        messages.success(request, _("Your profile has been saved."))
        return redirect("contributions:profile")
    return render(request, "contributions/profile.html", {"form": form})


@require_GET
@login_required
@never_cache
def profile_export(request: HttpRequest) -> HttpResponse:
    data = accounts.user_export_data(user=request.user)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="openllm-my-data.json"'
    return response


@require_http_methods(["GET", "POST"])
@login_required
def profile_delete(request: HttpRequest) -> HttpResponse:
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


@require_GET
def person(request: HttpRequest, pseudonym: str) -> HttpResponse:
    # A private profile is as absent as an unknown one, except to its owner.
    person = get_object_or_404(User, pseudonym=pseudonym, is_active=True)
    if not person.public_profile and person != request.user:
        return render(request, "404.html", status=404)
    return render(request, "contributions/person.html", {"person": person})


@require_GET
@maintainer_required
def roles(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    members = User.objects.order_by("email")
    if query:
        members = members.filter(Q(email__icontains=query) | Q(display_name__icontains=query))
    if request.GET.get("role") in Role.values:
        members = members.filter(role=request.GET["role"])
    page = Paginator(members, 50).get_page(request.GET.get("page"))
    return render(
        request, "contributions/roles.html", {"page": page, "query": query, "roles": Role.choices}
    )


@require_POST
@maintainer_required
def role_update(request: HttpRequest, user_id: int) -> HttpResponse:
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
