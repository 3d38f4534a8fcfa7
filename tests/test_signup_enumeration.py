"""Sign-up must not tell, even by its timing, whether an address has an account."""

from __future__ import annotations

import statistics
import time

import pytest
from django.conf import global_settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.test import override_settings
from django.urls import reverse

from contributions.models import OutgoingEmail, User

from .factories import UserFactory

pytestmark = pytest.mark.django_db

SIGNUP = {
    "password1": "un-mot-de-passe-solide-42",
    "password2": "un-mot-de-passe-solide-42",
    "display_name": "Claire Dupont",
    "accept_agreement": "on",
}


class CountingHasher(PBKDF2PasswordHasher):
    """PBKDF2 that counts its hashes (with few iterations: only the count matters)."""

    iterations = 1_000
    encoded = 0

    def encode(self, password, salt, iterations=None):
        CountingHasher.encoded += 1
        return super().encode(password, salt, iterations)


def sign_up(client, email: str):
    response = client.post(reverse("account_signup"), {**SIGNUP, "email": email})
    # Both answers look the same: "check your email".
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    return response


@override_settings(PASSWORD_HASHERS=["tests.test_signup_enumeration.CountingHasher"])
@pytest.mark.parametrize("existing", [False, True], ids=["new address", "existing address"])
def test_sign_up_hashes_one_password_and_queues_one_email_either_way(client, existing):
    email = UserFactory().email if existing else "nouvelle@example.org"
    CountingHasher.encoded = 0
    sign_up(client, email)
    assert CountingHasher.encoded == 1
    assert OutgoingEmail.objects.filter(to=email).count() == 1
    assert User.objects.filter(email=email).count() == 1


@override_settings(PASSWORD_HASHERS=global_settings.PASSWORD_HASHERS)
def test_sign_up_takes_about_as_long_for_existing_and_new_addresses(client):
    # The production hasher (PBKDF2, about 0.4 s here). Before the fix an
    # existing address answered 5 to 10 times faster; the margin is wide so
    # that a busy machine does not fail it. Turns alternate so that a slow
    # moment hits both sides.
    existing = [UserFactory().email for _ in range(5)]
    sign_up(client, "premiere@example.org")  # loads what the first request loads
    times: dict[str, list[float]] = {"existing": [], "new": []}
    for n, known in enumerate(existing):
        for side, email in (("existing", known), ("new", f"nouvelle{n}@example.org")):
            start = time.perf_counter()
            sign_up(client, email)
            times[side].append(time.perf_counter() - start)
    existing_median, new_median = statistics.median(times["existing"]), statistics.median(times["new"])
    assert max(existing_median, new_median) / min(existing_median, new_median) < 2, times
