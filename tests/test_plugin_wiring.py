"""Smoke tests of the Open edX plugin wiring: entry points, plugin app discovery, settings."""

import sys
from importlib.metadata import entry_points
from types import ModuleType

import pytest
from edx_django_utils.plugins import get_plugin_apps
from edx_django_utils.plugins.plugin_settings import add_plugins

from virtu_sync_plugin.conf import DEFAULTS

APP_CONFIG = "virtu_sync_plugin.apps:VirtuSyncPluginConfig"
PROJECT_TYPES = ["cms.djangoapp", "lms.djangoapp"]


@pytest.fixture
def settings_module(monkeypatch):
    """An empty, importable settings module, as edx-platform's add_plugins expects."""
    module = ModuleType("throwaway_settings")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module


@pytest.mark.parametrize("project_type", PROJECT_TYPES)
def test_the_installed_package_declares_its_entry_point(project_type):
    ours = [entry_point for entry_point in entry_points(group=project_type) if entry_point.name == "virtu_sync_plugin"]
    assert [entry_point.value for entry_point in ours] == [APP_CONFIG]


@pytest.mark.parametrize("project_type", PROJECT_TYPES)
def test_the_platform_adds_the_app_to_installed_apps(project_type):
    assert "virtu_sync_plugin.apps.VirtuSyncPluginConfig" in get_plugin_apps(project_type)


@pytest.mark.parametrize("project_type", PROJECT_TYPES)
def test_common_settings_set_the_defaults(settings_module, project_type):
    add_plugins(settings_module.__name__, project_type, "common")

    assert {name: getattr(settings_module, name) for name in DEFAULTS} == dict(DEFAULTS)


def test_common_settings_keep_what_the_operator_set(settings_module):
    settings_module.VIRTU_SYNC_BATCH_SIZE = 50

    add_plugins(settings_module.__name__, "cms.djangoapp", "common")

    assert settings_module.VIRTU_SYNC_BATCH_SIZE == 50
    assert settings_module.VIRTU_SYNC_TIMEOUT == DEFAULTS["VIRTU_SYNC_TIMEOUT"]


def test_production_settings_read_env_and_auth_tokens(settings_module):
    settings_module.ENV_TOKENS = {"VIRTU_SYNC_BACKEND_URL": "https://virtu.example.com", "OTHER": 1}
    settings_module.AUTH_TOKENS = {"VIRTU_SYNC_API_TOKEN": "from-auth-json"}
    add_plugins(settings_module.__name__, "cms.djangoapp", "common")

    add_plugins(settings_module.__name__, "cms.djangoapp", "production")

    assert settings_module.VIRTU_SYNC_BACKEND_URL == "https://virtu.example.com"
    assert settings_module.VIRTU_SYNC_API_TOKEN == "from-auth-json"
    assert settings_module.VIRTU_SYNC_BATCH_SIZE == DEFAULTS["VIRTU_SYNC_BATCH_SIZE"]
    assert not hasattr(settings_module, "OTHER")


def test_production_settings_without_tokens_change_nothing(settings_module):
    add_plugins(settings_module.__name__, "lms.djangoapp", "common")

    add_plugins(settings_module.__name__, "lms.djangoapp", "production")

    assert {name: getattr(settings_module, name) for name in DEFAULTS} == dict(DEFAULTS)
