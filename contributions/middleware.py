from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation

from .accounts import agreement_current_version, agreement_is_current

# Pages a member may reach before accepting a new agreement: the agreement
# itself, signing out, and their rights over their own data. The API answers
# such a member itself, in JSON (contributions.api.permissions).
AGREEMENT_EXEMPT_PREFIXES = ("/accounts/", "/i18n/", "/healthz", "/static/", "/media/", "/api/")
AGREEMENT_EXEMPT_URLS = ("contributions:agreement", "contributions:profile_export", "contributions:profile_delete")
# The version this session's member has accepted: an acceptance is never taken
# back, so each session asks the database once per agreement version.
AGREEMENT_SESSION_KEY = "agreement_accepted"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        # The Django admin sets a few inline style attributes.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Nothing loads from another origin: the site's sovereignty, enforced by
    the browser too."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response


class AgreementRequiredMiddleware:
    """Send a signed-in member who has not accepted the current contributor
    agreement to it first."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        version = agreement_current_version()
        if (
            user.is_authenticated
            and request.session.get(AGREEMENT_SESSION_KEY) != version
            and not request.path.startswith(AGREEMENT_EXEMPT_PREFIXES)
            and request.path not in {reverse(name) for name in AGREEMENT_EXEMPT_URLS}
        ):
            if not agreement_is_current(user=user):
                query = urlencode({"next": request.get_full_path()})
                return redirect(f"{reverse('contributions:agreement')}?{query}")
            request.session[AGREEMENT_SESSION_KEY] = version
        return self.get_response(request)


class MemberLanguageMiddleware:
    """A signed-in member who chose a language (in the profile, with the
    language switch, or at sign-up) reads the site in it, whatever the
    browser or the cookie says. After AuthenticationMiddleware."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        member_language_activate(request=request, user=request.user)
        return self.get_response(request)


def member_language_activate(*, request: HttpRequest, user: object) -> None:
    """The member's chosen language for the rest of the request (also for
    the API's token callers, known only once DRF has authenticated them)."""
    language = getattr(user, "language", "")
    if language and language != translation.get_language() and language in dict(settings.LANGUAGES):
        translation.activate(language)
        request.LANGUAGE_CODE = language
