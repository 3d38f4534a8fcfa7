"""Rate limits of the public forms, counted in the shared cache.

``@rate_limit("removal")`` on a view counts its POSTs per client address
and, for a signed-in member, per account, against ``settings.RATE_LIMITS``
(``"5/h"``: five an hour each way; ``"20/h/ip,10/h/user"``: separate rates).
A POST past a limit gets the 429 page, in the member's language, saying what
was limited and when to try again. Counters are fixed windows (the hour from
14:00 to 15:00), kept with ``cache.add`` and ``cache.incr``, which Redis does
atomically. allauth limits sign-up and sign-in itself; its refusals come
through ``allauth_429`` below.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
import math
import re
import time
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _

logger = logging.getLogger(__name__)

# What each limit protects, as the 429 page says it (whole sentences, for
# the translations' grammar).
LABELS = {
    "removal": _("You have sent too many removal requests in a short time."),
    "report": _("You have sent too many abuse reports in a short time."),
    "comment": _("You have posted too many comments in a short time."),
    "signup": _("Too many sign-ups came from your network in a short time."),
    "api_auth": _("Too many API calls with a wrong token came from your network in a short time."),
    "login": _("Too many sign-in attempts came from your network in a short time."),
    "reset_password": _("Too many password reset requests came from your network in a short time."),
    "reset_password_from_key": _("Too many password changes came from your network in a short time."),
}
# allauth's views by URL name, for its 429 page: the action its limits use.
ALLAUTH_ACTIONS = {
    "account_signup": "signup",
    "account_login": "login",
    "account_reset_password": "reset_password",
    "account_reset_password_from_key": "reset_password_from_key",
}

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_RATE = re.compile(r"(?P<amount>[0-9]+)/(?P<count>[1-9][0-9]*)?(?P<unit>[smhd])(?:/(?P<per>ip|user))?")


@dataclass(frozen=True)
class Rate:
    amount: int
    seconds: int
    per: str  # "ip" or "user"


def rates_parse(text: str) -> list[Rate]:
    """``"5/h"`` counts per address and per account; ``"5/h/ip"`` only one."""
    rates = []
    for part in filter(None, (item.strip() for item in text.split(","))):
        match = _RATE.fullmatch(part)
        if not match:
            raise ImproperlyConfigured(f"RATE_LIMITS: {part!r} is not a rate such as 5/h or 20/15m/ip.")
        seconds = int(match["count"] or 1) * _UNITS[match["unit"]]
        for per in [match["per"]] if match["per"] else ["ip", "user"]:
            rates.append(Rate(int(match["amount"]), seconds, per))
    return rates


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the X-Forwarded-For entry
    TRUSTED_PROXY_COUNT places from the end when our proxies set it (the
    entries before that are whatever the client sent). An IPv6 address
    counts as its /64, which one machine usually holds whole."""
    address = ""
    count = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        address = hops[-count] if len(hops) >= count else hops[0]
    try:
        ip = ipaddress.ip_address(address or request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return request.META.get("REMOTE_ADDR", "") or "unknown"
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False).network_address)
    return str(ip)


@dataclass(frozen=True)
class Refusal:
    action: str
    per: str
    retry_after: int  # seconds


def _count(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout)
    try:
        return cache.incr(key)
    except ValueError:
        # The window ended between add and incr, or the cache is down and
        # answers as if empty: this hit is the first.
        cache.add(key, 1, timeout)
        return 1


def rate_limit_consume(*, request: HttpRequest, action: str) -> Refusal | None:
    """Count one use of ``action``; return why it is refused, or None."""
    now = time.time()
    for rate in rates_parse(settings.RATE_LIMITS.get(action, "")):
        if rate.per == "user":
            if not request.user.is_authenticated:
                continue
            who = str(request.user.pk)
        else:
            # The cache need not keep addresses in clear.
            who = hashlib.sha256(f"{settings.SECRET_KEY}:{client_ip(request)}".encode()).hexdigest()[:32]
        window = int(now // rate.seconds)
        window_end = (window + 1) * rate.seconds
        key = f"rl:{action}:{rate.amount}/{rate.seconds}:{rate.per}:{who}:{window}"
        try:
            used = _count(key, math.ceil(window_end - now) + 1)
        except Exception:  # noqa: BLE001 - a cache that raises must not block the form
            logger.warning("Rate limit %s not counted: the cache failed.", action, exc_info=True)
            return None
        if used > rate.amount:
            logger.info("Rate limit %s reached (%s per %s s, per %s).", action, rate.amount, rate.seconds, rate.per)
            return Refusal(action=action, per=rate.per, retry_after=max(1, math.ceil(window_end - now)))
    return None


def too_many_requests(
    request: HttpRequest, *, action: str = "", retry_after: int | None = None, at_most: bool = False
) -> HttpResponse:
    """The 429 page: what was limited and, when known, when to try again
    (``at_most``: the wait is an upper bound, not the exact time)."""
    back = request.META.get("HTTP_REFERER", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        back = reverse("contributions:home")
    now = timezone.now()
    context = {
        "limited": LABELS.get(action, ""),
        "now": now,
        # Whole minutes, rounded up: "in 0 minutes" would say nothing.
        "retry_at": now + datetime.timedelta(minutes=math.ceil(retry_after / 60)) if retry_after else None,
        "at_most": at_most,
        "back": back,
    }
    response = render(request, "429.html", context, status=429)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def allauth_429(request: HttpRequest) -> HttpResponse:
    """allauth's refusals (sign-up, sign-in, password reset), found by allauth
    as ``handler429`` of the root URLconf. allauth keeps its history itself,
    so the page says how long its longest window is, at most."""
    from allauth.account import app_settings

    match = getattr(request, "resolver_match", None)
    action = ALLAUTH_ACTIONS.get(match.url_name if match else "", "")
    seconds = [rate.seconds for rate in _allauth_rates(app_settings.RATE_LIMITS.get(action) or "")]
    return too_many_requests(request, action=action, retry_after=max(seconds) if seconds else None, at_most=True)


def _allauth_rates(text: str) -> list[Rate]:
    # allauth also has per-key rates ("5/m/key") and fractional periods,
    # which ours do not: without a known wait the page says "a few minutes".
    try:
        return rates_parse(",".join(part for part in text.split(",") if not part.strip().endswith("/key")))
    except ImproperlyConfigured:
        return []


def rate_limit(action: str):
    """Limit the POSTs of a view; GETs are never counted. Put it under
    ``login_required`` so that anonymous visitors are sent to sign in first."""
    if action not in settings.RATE_LIMITS:
        raise ImproperlyConfigured(f"RATE_LIMITS has no {action!r} entry.")

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if request.method == "POST":
                refusal = rate_limit_consume(request=request, action=action)
                if refusal:
                    return too_many_requests(request, action=action, retry_after=refusal.retry_after)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
