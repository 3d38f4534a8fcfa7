from __future__ import annotations

import factory
from allauth.account.models import EmailAddress

from contributions import accounts
from contributions.models import Role, User

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    """A member who signed up, verified their email and accepted the current
    contributor agreement."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"member{n}@example.org")
    display_name = factory.Faker("name", locale="fr_FR")
    role = Role.MEMBER
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)

    @factory.post_generation
    def agreement(self, create: bool, extracted, **kwargs) -> None:
        if create and extracted is not False:
            accounts.agreement_accept(user=self)


class ReviewerFactory(UserFactory):
    role = Role.REVIEWER


class MaintainerFactory(UserFactory):
    role = Role.MAINTAINER


def signed_in(client, user) -> None:
    """Sign ``user`` in, and make the session's first request: it records the
    accepted agreement in the session, which later requests then trust."""
    from django.urls import reverse

    client.force_login(user)
    assert client.get(reverse("contributions:profile")).status_code == 200
