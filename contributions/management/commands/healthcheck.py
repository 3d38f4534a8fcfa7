from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from contributions.health import health_check


class Command(BaseCommand):
    help = "Print the state of the database, the broker, the workers and the cache; exit 1 if one is down."

    def handle(self, *args, **options) -> None:
        state = health_check()
        self.stdout.write(json.dumps(state))
        if any(value != "ok" for value in state.values()):
            raise CommandError("unhealthy")
