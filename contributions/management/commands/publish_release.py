from __future__ import annotations

import json
import os

from django.core.management.base import BaseCommand, CommandError

from contributions.models import Release
from contributions.releases import release_publish


class Command(BaseCommand):
    help = "Publish a built release to a Hugging Face Hub dataset repository, in one commit."

    def add_arguments(self, parser) -> None:
        parser.add_argument("version")
        parser.add_argument("--repo", default=os.environ.get("HF_DATASET_REPO", ""))
        parser.add_argument("--dry-run", action="store_true", help="list what would be sent, send nothing")

    def handle(self, *args, version: str, repo: str, dry_run: bool, **options) -> None:
        release = Release.objects.filter(version=version).first()
        if release is None:
            raise CommandError(f"No release {version!r}.")
        if not repo:
            raise CommandError("Give --repo or set HF_DATASET_REPO.")
        token = os.environ.get("HF_TOKEN")
        if not dry_run and not token:
            raise CommandError("Set HF_TOKEN to publish (or use --dry-run).")
        self.stdout.write(json.dumps(release_publish(release=release, repo_id=repo, token=token, dry_run=dry_run)))
