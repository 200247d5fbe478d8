"""Django system checks: bad ``VIRTU_SYNC_*`` settings fail at start-up, not at the first publish."""

from django.conf import settings
from django.core.checks import Error, register

from .conf import settings_problems


@register()
def check_sync_settings(app_configs=None, **kwargs):  # pylint: disable=unused-argument
    """One error per problem with the plugin's settings."""
    return [
        Error(problem, hint="See the Configuration section of the virtu-sync-plugin README.", id="virtu_sync.E001")
        for problem in settings_problems(settings)
    ]
