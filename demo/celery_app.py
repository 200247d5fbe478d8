"""The demo's Celery app (edx-platform's is ``openedx.core.lib.celery.APP``)."""

from celery import Celery

app = Celery("virtu_sync_demo")
app.config_from_object("django.conf:settings")
app.autodiscover_tasks()
