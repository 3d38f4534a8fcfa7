from __future__ import annotations

from django.conf import settings


def site(request) -> dict:
    context = {"SITE_NAME": settings.SITE_NAME}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # Asked once a request, however many templates (cached fragments,
        # then the page) are rendered with it.
        if not hasattr(request, "unread_notifications"):
            request.unread_notifications = user.notifications.filter(read_at__isnull=True).count()
        context["unread_notifications"] = request.unread_notifications
    return context
