from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from .models import User


class AuthenticatedRequest(HttpRequest):
    """The request of a view behind ``login_required`` or a role: its user
    is a member, never an anonymous visitor (for mypy)."""

    user: User
    # Counted once a request for the page header (contributions.fragments.page_state or the context processor).
    unread_notifications: int


def role_required(attribute: str):
    """Views for reviewers (``is_reviewer``) or maintainers (``is_maintainer``):
    anonymous visitors go to the login page, members get a 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not getattr(request.user, attribute):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


reviewer_required = role_required("is_reviewer")
maintainer_required = role_required("is_maintainer")
