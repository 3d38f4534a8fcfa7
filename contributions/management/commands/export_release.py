from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from contributions.models import Release
from contributions.releases import release_export


class Command(BaseCommand):
    help = "Copy the files of a built release into a folder (load it with datasets.load_dataset(DIR))."

    def add_arguments(self, parser) -> None:
        parser.add_argument("version")
        parser.add_argument("--out", required=True, type=Path)

    def handle(self, *args, version: str, out: Path, **options) -> None:
        release = Release.objects.filter(version=version).first()
        if release is None:
            raise CommandError(f"No release {version!r}.")
        try:
            written = release_export(release=release, out=out)
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from None
        self.stdout.write(f"{len(written)} files written to {out}")
