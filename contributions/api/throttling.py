from __future__ import annotations

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from ..models import ApiToken
from ..ratelimits import client_ip


class ApiRateThrottle(SimpleRateThrottle):
    """Counts a token's calls against its own rate and, with the session's,
    against its member's (so more tokens give no more calls); anonymous
    calls per address. A view that sets ``throttle_scope = "upload"`` (the
    chunks of resumable uploads) counts there instead, per member."""

    def __init__(self) -> None:
        # The rates depend on the request: chosen in allow_request.
        pass

    def _buckets(self, request: Request, view) -> list[tuple[str, str]]:
        user = request.user
        if not user.is_authenticated:
            return [("anonymous", client_ip(request._request))]
        if getattr(view, "throttle_scope", None) == "upload":
            return [("upload", f"user-{user.pk}")]
        member = ("member", f"user-{user.pk}")
        auth = request.auth
        return [("token", f"token-{auth.pk}"), member] if isinstance(auth, ApiToken) else [member]

    def allow_request(self, request: Request, view) -> bool:
        for scope, ident in self._buckets(request, view):
            self.scope, self.ident = scope, ident
            self.rate = self.get_rate()
            self.num_requests, self.duration = self.parse_rate(self.rate)
            if not super().allow_request(request, view):
                return False
        return True

    def get_rate(self) -> str:
        # Read at each call (DRF reads it once, at import): a changed
        # setting takes effect.
        return str(api_settings.DEFAULT_THROTTLE_RATES[self.scope or ""])

    def get_cache_key(self, request: Request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}
