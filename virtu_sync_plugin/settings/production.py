"""
Production settings: the operator's values from older deployments' configuration files.

Current platforms copy every key of their YAML configuration into the settings
before this runs, so there is nothing left to do. Older ones expose the files only
as ``ENV_TOKENS`` (lms.env.json / cms.env.json) and ``AUTH_TOKENS`` (the matching
*.auth.json, for secrets); this module copies the ``VIRTU_SYNC_*`` values from them.
"""

from virtu_sync_plugin.conf import DEFAULTS


def plugin_settings(settings):
    """
    Set each ``VIRTU_SYNC_*`` setting found in ``ENV_TOKENS`` or ``AUTH_TOKENS``; ``AUTH_TOKENS`` wins.
    """
    for tokens in (getattr(settings, "ENV_TOKENS", {}), getattr(settings, "AUTH_TOKENS", {})):
        for name in DEFAULTS:
            if name in tokens:
                setattr(settings, name, tokens[name])
