"""
Django app configuration, including the Open edX plugin wiring.
"""

from typing import Any, ClassVar

from django.apps import AppConfig

# Settings modules per project type; paths are relative to this package. The keys are
# the strings behind edx-django-utils' ProjectType and SettingsType constants, written
# out so that this module imports nothing from edx-platform.
_SETTINGS_CONFIG = {
    "common": {"relative_path": "settings.common"},
    "production": {"relative_path": "settings.production"},
}


# Studio's course signals, connected by the platform's plugin framework (CMS only: the
# modulestore is written there, by Studio and its Celery workers).
_SIGNALS_CONFIG = {
    "relative_path": "signals.handlers",
    "receivers": [
        {
            "receiver_func_name": "handle_course_published",
            "signal_path": "xmodule.modulestore.django.COURSE_PUBLISHED",
        },
        {
            "receiver_func_name": "handle_course_deleted",
            "signal_path": "xmodule.modulestore.django.COURSE_DELETED",
        },
        {
            "receiver_func_name": "handle_course_import_completed",
            "signal_path": "openedx_events.content_authoring.signals.COURSE_IMPORT_COMPLETED",
        },
        {
            "receiver_func_name": "handle_course_rerun_completed",
            "signal_path": "openedx_events.content_authoring.signals.COURSE_RERUN_COMPLETED",
        },
    ],
}


class VirtuSyncPluginConfig(AppConfig):
    """
    Studio (CMS) and LMS plugin app for the Virtu course sync.
    """

    name = "virtu_sync_plugin"
    verbose_name = "Virtu course sync"
    default_auto_field = "django.db.models.BigAutoField"

    plugin_app: ClassVar[dict[str, Any]] = {
        "settings_config": {
            "cms.djangoapp": _SETTINGS_CONFIG,
            "lms.djangoapp": _SETTINGS_CONFIG,
        },
        "signals_config": {
            "cms.djangoapp": _SIGNALS_CONFIG,
        },
    }

    def ready(self) -> None:
        # checks: registers the system checks; tasks: registers the Celery tasks, which the
        # api queues by name.
        from . import checks, tasks  # pylint: disable=import-outside-toplevel,unused-import  # noqa: F401
