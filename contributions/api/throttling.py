from __future__ import annotations

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from ..ratelimits import client_ip


class ApiRateThrottle(SimpleRateThrottle):
    """Counts calls per token, per session's member or per address for
    anonymous callers, each against its own rate. A view that sets
    ``throttle_scope = "upload"`` (the chunks of resumable uploads) counts
    there instead, per member."""

    def __init__(self) -> None:
        # The rate depends on the request: chosen in allow_request.
        pass

    def allow_request(self, request: Request, view) -> bool:
        auth = request.auth
        if getattr(view, "throttle_scope", None) == "upload" and request.user.is_authenticated:
            self.scope, self.ident = "upload", f"user-{request.user.pk}"
        elif auth is not None and hasattr(auth, "key_hash"):
            self.scope, self.ident = "token", f"token-{auth.pk}"
        elif request.user.is_authenticated:
            self.scope, self.ident = "session", f"user-{request.user.pk}"
        else:
            self.scope, self.ident = "anonymous", client_ip(request._request)
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_rate(self) -> str:
        # Read at each call (DRF reads it once, at import): a changed
        # setting takes effect.
        return str(api_settings.DEFAULT_THROTTLE_RATES[self.scope or ""])

    def get_cache_key(self, request: Request, view) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.ident}
