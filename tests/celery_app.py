"""The Celery app of the test project, set up as edx-platform's (``openedx.core.lib.celery``)."""

from celery import Celery

app = Celery("virtu_sync_tests")
app.config_from_object("django.conf:settings")
app.autodiscover_tasks()  # finds virtu_sync_plugin.tasks, as the platform finds every app's tasks
