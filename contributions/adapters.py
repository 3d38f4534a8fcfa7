from __future__ import annotations

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.sites.shortcuts import get_current_site
from django.utils import translation
from django.utils.crypto import get_random_string

from . import accounts, emails
from .models import User


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request) -> bool:
        return settings.SIGNUP_OPEN

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # Rendered as allauth does, then delivered by the worker; in the
        # member's language, or the page's for an address with no account.
        ctx = {"request": self.request, "email": email, "current_site": get_current_site(self.request)}
        ctx.update(context)
        user = context.get("user") or User.objects.filter(email__iexact=email).first()
        with translation.override(getattr(user, "language", "") or translation.get_language()):
            message = self.render_mail(template_prefix, email, ctx)
        emails.email_queue(message=message)

    def save_user(self, request, user, form, commit: bool = True):
        user = super().save_user(request, user, form, commit=False)
        # The language the site was read in when signing up (one of the site's).
        if (language := translation.get_language()) in dict(settings.LANGUAGES):
            user.language = language
        return accounts.member_register(user=user, display_name=form.cleaned_data.get("display_name", ""))

    def respond_email_verification_sent(self, request, user):
        if user is None:
            # A sign-up with an address that already has an account: allauth
            # creates nothing and queues an "account already exists" email
            # instead of the confirmation, through send_mail like a new
            # account. A new account also costs a password hash, the slow
            # part; without one here the quick answer would tell whether the
            # address is registered, which ACCOUNT_PREVENT_ENUMERATION hides.
            # (allauth gets here with no user only in that case, or for its
            # honeypot, which must not stand out either.)
            make_password(get_random_string(32))
        return super().respond_email_verification_sent(request, user)
