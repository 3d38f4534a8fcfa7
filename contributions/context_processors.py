from __future__ import annotations

from django.conf import settings

from .dashboard import notifications_unread_count


def site(request) -> dict:
    context = {"SITE_NAME": settings.SITE_NAME}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # Asked once a request, however many templates (cached fragments,
        # then the page) are rendered with it.
        if not hasattr(request, "unread_notifications"):
            request.unread_notifications = notifications_unread_count(user=user)
        context["unread_notifications"] = request.unread_notifications
    return context
