from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.sites.shortcuts import get_current_site

from . import accounts, emails


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return settings.SIGNUP_OPEN

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Rendered as allauth does, then delivered by the worker.
        ctx = {"request": self.request, "email": email, "current_site": get_current_site(self.request)}
        ctx.update(context)
        emails.email_queue(message=self.render_mail(template_prefix, email, ctx))

    def save_user(self, request, user, form, commit: bool = True):
        user = super().save_user(request, user, form, commit=False)
        return accounts.member_register(user=user, display_name=form.cleaned_data.get("display_name", ""))
