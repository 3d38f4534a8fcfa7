"""Every error of the API is one JSON shape:

    {"code": "invalid", "message": "…", "field": "license", "errors": [...]}

``code`` is stable for scripts, ``message`` in the caller's language,
``field`` the input at fault (or null); ``errors`` lists every problem when
there are several, each of the same shape."""

from __future__ import annotations

from typing import TypedDict

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApiError(TypedDict):
    code: str
    message: str
    field: str | None


class ApiErrorBody(ApiError):
    errors: list[ApiError]


def _flatten(detail, field: str | None = None) -> list[ApiError]:
    if isinstance(detail, dict):
        found: list[ApiError] = []
        for key, value in detail.items():
            name = None if key == "non_field_errors" else (f"{field}.{key}" if field else str(key))
            found.extend(_flatten(value, name))
        return found
    if isinstance(detail, list):
        return [error for item in detail for error in _flatten(item, field)]
    return [{"code": str(getattr(detail, "code", "") or "invalid"), "message": str(detail), "field": field}]


def error_body(errors: list[ApiError]) -> ApiErrorBody:
    first = errors[0] if errors else {"code": "error", "message": _("Error."), "field": None}
    return {**first, "errors": errors}


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, DjangoValidationError):
        errors: list[ApiError]
        if hasattr(exc, "error_dict"):
            errors = [
                {"code": "invalid", "message": str(m), "field": None if field == "__all__" else field}
                for field, messages in exc.message_dict.items() for m in messages
            ]
        else:
            # A domain function's own code ("claimed", say) is kept for scripts.
            errors = [{"code": error.code or "invalid", "message": str(m), "field": None}
                      for error, m in zip(exc.error_list, exc.messages, strict=True)]
        return Response(error_body(errors), status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, RequestDataTooBig):
        return Response(error_body([{"code": "too_large", "message": _("The request body is too large."),
                                     "field": None}]), status=413)
    if isinstance(exc, TooManyFieldsSent | TooManyFilesSent):
        return Response(error_body([{"code": "too_many_fields", "message": _("The request has too many fields."),
                                     "field": None}]), status=400)
    if isinstance(exc, DjangoPermissionDenied):
        message = str(exc) or _("You do not have permission to do this.")
        exc = exceptions.PermissionDenied(message)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(_("Not found."))
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.APIException):
        response.data = error_body(_flatten(exc.detail))
    return response


def json_error(status_code: int, code: str, message: str, field: str | None = None) -> JsonResponse:
    """An error of the same shape outside DRF (the tus endpoint, unknown URLs)."""
    error: ApiError = {"code": code, "message": message, "field": field}
    return JsonResponse(error_body([error]), status=status_code)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_error(404, "not_found", _("Not found."))
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django refuses before any view (an unknown Host, say)."""
    if request.path.startswith("/api/"):
        return json_error(400, "bad_request", _("Bad request."))
    return defaults.bad_request(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith("/api/"):
        return json_error(500, "server_error", _("Internal error: it has been logged. Try again later."))
    return defaults.server_error(request)
