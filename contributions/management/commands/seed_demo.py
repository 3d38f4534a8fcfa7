from __future__ import annotations

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand

from contributions import accounts, demo
from contributions.models import Role, User

DEMO_PASSWORD = "openllm-demo-2026"
DEMO_ACCOUNTS = [
    ("member@demo.openllm.eu", "Marie Membre", Role.MEMBER),
    ("reviewer@demo.openllm.eu", "Rémi Relecteur", Role.REVIEWER),
    ("maintainer@demo.openllm.eu", "Manon Mainteneuse", Role.MAINTAINER),
]


class Command(BaseCommand):
    help = (
        "Create the demo accounts (a member, a reviewer, a maintainer) and demo corpora with a public release; "
        "safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--accounts-only", action="store_true", help="Only the accounts, no demo data.")

    def handle(self, *args, **options) -> None:
        users = []
        for email, name, role in DEMO_ACCOUNTS:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email, DEMO_PASSWORD, display_name=name, role=role)
                EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
            accounts.agreement_accept(user=user)
            users.append(user)
        member, reviewer, maintainer = users
        if not options["accounts_only"] and demo.demo_data_create(
            member=member, reviewer=reviewer, maintainer=maintainer
        ):
            self.stdout.write("Demo corpora analysed, reviewed and released as demo-1.")
        self.stdout.write(f"Demo accounts (password: {DEMO_PASSWORD}):")
        for email, _name, role in DEMO_ACCOUNTS:
            self.stdout.write(f"  {role.label:<11} {email}")
