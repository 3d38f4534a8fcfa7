"""The site's language switch, remembered for signed-in members."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views import i18n
from django.views.decorators.http import require_POST

from .. import accounts


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's ``set_language`` (the cookie and the redirection), and for a
    signed-in member their language too: the site and their emails follow it
    (contributions.middleware.MemberLanguageMiddleware)."""
    response = i18n.set_language(request)
    if request.user.is_authenticated:
        accounts.member_language_set(user=request.user, language=request.POST.get("language", ""))
    return response
