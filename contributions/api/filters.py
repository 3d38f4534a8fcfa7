"""Filtering and ordering on allow-listed fields only. A list view names
its filters (``filters = {"status": "status"}``, query parameter to field)
and the fields it may be ordered by (``ordering_fields``). Any other query
parameter is refused with a 400 naming it: a parameter such as
``submitter__password`` never reaches a lookup."""

from __future__ import annotations

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.filters import BaseFilterBackend

# Query parameters every list takes besides its filters.
COMMON = {"page", "page_size", "ordering", "format"}


class InvalidParameter(exceptions.ValidationError):
    def __init__(self, field: str, message: str, code: str) -> None:
        super().__init__({field: [exceptions.ErrorDetail(message, code=code)]})


def check_parameters(request, allowed: set[str]) -> None:
    for name in request.query_params:
        if name not in allowed | COMMON:
            raise InvalidParameter(
                name,
                _("Unknown query parameter “%(name)s”; this list takes: %(allowed)s.")
                % {"name": name[:100], "allowed": ", ".join(sorted(allowed | COMMON))},
                "unknown_parameter",
            )


def _choices(view, field: str) -> list[str] | None:
    model = view.get_queryset().model
    try:
        choices = model._meta.get_field(field).choices
    except Exception:  # noqa: BLE001 - a lookup through a relation: not a plain field
        return None
    return [str(value) for value, _label in choices] if choices else None


class AllowListFilter(BaseFilterBackend):
    def filter_queryset(self, request, queryset, view):
        filters: dict[str, str] = getattr(view, "filters", {})
        ordering_fields: list[str] = getattr(view, "ordering_fields", [])
        check_parameters(request, set(filters))
        for name, field in filters.items():
            value = request.query_params.get(name)
            if value is None:
                continue
            choices = _choices(view, field)
            if choices is not None and value not in choices:
                raise InvalidParameter(
                    name, _("“%(value)s” is not one of: %(choices)s.") % {"value": value[:100],
                                                                       "choices": ", ".join(choices)},
                    "invalid_choice",
                )
            queryset = queryset.filter(**{field: value})
        ordering = request.query_params.get("ordering")
        if ordering:
            allowed = ordering_fields + [f"-{name}" for name in ordering_fields]
            if ordering not in allowed:
                raise InvalidParameter(
                    "ordering",
                    _("This list can only be ordered by: %(fields)s.") % {"fields": ", ".join(allowed) or "-"},
                    "invalid_ordering",
                )
            queryset = queryset.order_by(ordering, "-id" if ordering.startswith("-") else "id")
        return queryset

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = []
        for name, field in getattr(view, "filters", {}).items():
            schema: dict = {"type": "string"}
            choices = _choices(view, field)
            if choices:
                schema["enum"] = choices
            parameters.append({"name": name, "in": "query", "required": False, "schema": schema})
        ordering_fields = getattr(view, "ordering_fields", [])
        if ordering_fields:
            parameters.append({
                "name": "ordering", "in": "query", "required": False,
                "schema": {"type": "string", "enum": ordering_fields + [f"-{f}" for f in ordering_fields]},
            })
        return parameters


class ArgumentFilter(AllowListFilter):
    """AllowListFilter for a list that its domain function filters itself
    (the review queue looks for a language inside a JSON list, the catalogue
    for periods that overlap): the view's ``filters`` maps each allowed query
    parameter to the function's keyword argument, ``filter_serializer``
    checks the values, and the view's ``get_queryset(**arguments)`` calls
    the function; its answer replaces the unfiltered one DRF passes in. A
    value never reaches a lookup unchecked, and the list keeps the order its
    function gives (``ordering`` is refused)."""

    def filter_queryset(self, request, queryset, view):
        filters: dict[str, str] = view.filters
        check_parameters(request, set(filters))
        if request.query_params.get("ordering"):
            raise InvalidParameter(
                "ordering", _("This list can only be ordered by: %(fields)s.") % {"fields": "-"}, "invalid_ordering"
            )
        given = {name: request.query_params[name] for name in filters if name in request.query_params}
        checked = view.filter_serializer(data=given)
        checked.is_valid(raise_exception=True)
        return view.get_queryset(**{filters[name]: value for name, value in checked.validated_data.items()})

    def get_schema_operation_parameters(self, view) -> list[dict]:
        # The view documents them from its filter_serializer (types, choices, bounds).
        return []
