from __future__ import annotations

from importlib import import_module

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

# The modules that declare a kind of background job (contributions.jobs.register).
JOB_MODULES = [
    "contributions.analysis.pipeline",
    "contributions.training",
    "contributions.releases",
    "contributions.emails",
    "contributions.removals",
]


class ContributionsConfig(AppConfig):
    name = "contributions"
    verbose_name = _("Contributions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Every process (web, worker, beat) knows every kind of job.
        for module in JOB_MODULES:
            import_module(module)
