"""
Settings the plugin adds to the platform's settings, one module per settings type.

edx-django-utils' ``add_plugins`` calls each module's ``plugin_settings(settings)``
with the platform's settings module (see ``VirtuSyncPluginConfig.plugin_app``).
"""
