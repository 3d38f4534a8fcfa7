from __future__ import annotations

from django import forms
from django.urls import reverse_lazy
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from .models import Role, User


def _agreement_label() -> str:
    return format_html(
        '{} <a href="{}" target="_blank">{}</a>',
        _("I accept the"),
        reverse_lazy("contributions:agreement"),
        _("contributor agreement"),
    )


class SignupForm(forms.Form):
    """Extra fields of allauth's sign-up form."""

    field_order = ["email", "password1", "password2", "display_name", "accept_agreement"]

    display_name = forms.CharField(label=_("Display name"), max_length=80, required=False)
    accept_agreement = forms.BooleanField(label=lazy(_agreement_label, str)(), required=True)

    def signup(self, request, user) -> None:
        """allauth calls this after saving; AccountAdapter.save_user already
        registered the member and recorded the agreement."""


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name", "affiliation", "public_profile"]
        help_texts = {
            "public_profile": _("Show your name and affiliation on your public page and on your contributions."),
        }


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)


class DeleteAccountForm(forms.Form):
    confirm = forms.BooleanField(
        label=_("I understand that my account is deleted for good."), required=True
    )
