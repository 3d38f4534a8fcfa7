from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openllm_site.settings")

app = Celery("openllm_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _warm_up(**_kwargs) -> None:
    from contributions.analysis.text import analysis_warm_up

    analysis_warm_up()
