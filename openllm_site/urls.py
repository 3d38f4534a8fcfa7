from __future__ import annotations

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path

from contributions.views import healthz
from contributions.views.language import language_set

# The admin signs in through allauth, with its rate limits, never through
# its own unprotected form.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "OpenLLM Europe"
# allauth looks here for the page of its rate limits (sign-up, sign-in).
handler429 = "contributions.ratelimits.allauth_429"
# Errors under /api/ answer in the API's JSON shape.
handler400 = "contributions.api.errors.bad_request"
handler404 = "contributions.api.errors.page_not_found"
handler500 = "contributions.api.errors.server_error"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # The language switch also remembers a signed-in member's choice.
    path("i18n/setlang/", language_set, name="set_language"),
    path("api/", include("contributions.api.urls")),
    path("", include("contributions.urls")),
]
