from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from ..middleware import member_language_activate
from ..models import ApiToken, User
from ..ratelimits import rate_limit_consume
from ..tokens import token_authenticate


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <key>``, a personal token of the profile page."""

    keyword = "Token"

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Give the token after “Token ”, with no space in it."))
        try:
            key = header[1].decode("ascii")
        except UnicodeError:
            raise exceptions.AuthenticationFailed(_("This token is unknown, expired or revoked.")) from None
        token = token_authenticate(key=key)
        if token is None:
            # Each wrong key costs a lookup: counted per address, so that
            # guessing (hopeless anyway, with 256-bit keys) stays cheap.
            refusal = rate_limit_consume(request=request._request, action="api_auth")
            if refusal:
                raise exceptions.Throttled(wait=refusal.retry_after)
            raise exceptions.AuthenticationFailed(_("This token is unknown, expired or revoked."))
        # As for the pages: the member's chosen language, whatever the client sends.
        member_language_activate(request=request._request, user=token.user)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return self.keyword


class SessionAuthentication(authentication.SessionAuthentication):
    """The site's own pages call the API with their session (and its CSRF
    token). A suspended member's session no longer counts."""

    def authenticate(self, request: Request):
        result = super().authenticate(request)
        if result is not None and not result[0].is_active:
            return None
        return result


class TokenScheme(OpenApiAuthenticationExtension):
    target_class = "contributions.api.authentication.TokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey", "in": "header", "name": "Authorization",
            "description": "`Token <key>`, a personal token made on the profile page.",
        }


class SessionScheme(OpenApiAuthenticationExtension):
    target_class = "contributions.api.authentication.SessionAuthentication"
    name = "session"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}
