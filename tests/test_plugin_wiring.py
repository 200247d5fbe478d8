"""
Smoke tests of the Open edX plugin wiring: entry points, plugin app discovery, settings.

Settings are loaded the way edx-platform loads them: ``add_plugins`` (edx-django-utils)
finds the app's ``plugin_app["settings_config"]`` and calls the settings modules'
``plugin_settings`` on a settings module, "common" first, then, in production, the YAML
values and "production". What the module then holds is compared with the defaults that
the settings annotations document (the values the docs show operators), not with
``conf.DEFAULTS``, which the settings modules copy.
"""

import ast
import re
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

import pytest
from django.test import override_settings
from edx_django_utils.plugins import get_plugin_apps
from edx_django_utils.plugins.plugin_settings import add_plugins

from virtu_sync_plugin.conf import get_sync_settings, settings_problems

APP_CONFIG = "virtu_sync_plugin.apps:VirtuSyncPluginConfig"
PROJECT_TYPES = ["cms.djangoapp", "lms.djangoapp"]
COMMON_SETTINGS = Path(__file__).resolve().parents[1] / "virtu_sync_plugin" / "settings" / "common.py"


def documented_defaults() -> dict[str, object]:
    """The ``.. setting_default:`` annotation of each ``.. setting_name:`` in the common settings."""
    text = COMMON_SETTINGS.read_text()
    pattern = r"# \.\. setting_name: (\w+)\n\s*# \.\. setting_default: (.*(?:\n\s*#   .*)*)"
    return {name: ast.literal_eval(re.sub(r"\n\s*#  ", "", default)) for name, default in re.findall(pattern, text)}


DOCUMENTED_DEFAULTS = documented_defaults()


def plugin_settings_of(module: ModuleType) -> dict[str, object]:
    return {name: getattr(module, name) for name in dir(module) if name.startswith("VIRTU_SYNC_")}


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


def test_every_setting_has_its_documented_default():
    assert len(DOCUMENTED_DEFAULTS) == 12  # the annotation parser found them all
    assert DOCUMENTED_DEFAULTS["VIRTU_SYNC_BATCH_SIZE"] == 200
    assert "edx_sga" in DOCUMENTED_DEFAULTS["VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES"]


@pytest.mark.parametrize("project_type", PROJECT_TYPES)
def test_common_settings_set_the_documented_defaults(settings_module, project_type):
    add_plugins(settings_module.__name__, project_type, "common")

    assert plugin_settings_of(settings_module) == DOCUMENTED_DEFAULTS
    assert settings_problems(settings_module) == []


def test_the_platforms_production_settings_give_the_plugin_its_settings(settings_module):
    add_plugins(settings_module.__name__, "cms.djangoapp", "common")
    settings_module.VIRTU_SYNC_BACKEND_URL = "https://virtu.example.com"  # from the YAML configuration
    settings_module.VIRTU_SYNC_API_TOKEN = "from-yaml"
    settings_module.VIRTU_SYNC_TIMEOUT = 10
    add_plugins(settings_module.__name__, "cms.djangoapp", "production")

    with override_settings(**plugin_settings_of(settings_module)):
        loaded = get_sync_settings()

    assert (loaded.backend_url, loaded.api_token, loaded.signing_secret) == (
        "https://virtu.example.com",
        "from-yaml",
        "",
    )
    assert (loaded.batch_size, loaded.connect_timeout, loaded.read_timeout) == (200, 10, 10)
    assert loaded.allow_insecure_http is False
    assert {"problem", "openassessment", "lti_consumer"} <= loaded.assessment_block_types
    assert not {"html", "video", "discussion"} & loaded.assessment_block_types


def test_common_settings_keep_what_the_operator_set(settings_module):
    settings_module.VIRTU_SYNC_BATCH_SIZE = 50

    add_plugins(settings_module.__name__, "cms.djangoapp", "common")

    assert settings_module.VIRTU_SYNC_BATCH_SIZE == 50
    assert settings_module.VIRTU_SYNC_TIMEOUT == (5.0, 30.0)


def test_production_settings_read_env_and_auth_tokens(settings_module):
    settings_module.ENV_TOKENS = {"VIRTU_SYNC_BACKEND_URL": "https://virtu.example.com", "OTHER": 1}
    settings_module.AUTH_TOKENS = {"VIRTU_SYNC_API_TOKEN": "from-auth-json"}
    add_plugins(settings_module.__name__, "cms.djangoapp", "common")

    add_plugins(settings_module.__name__, "cms.djangoapp", "production")

    assert settings_module.VIRTU_SYNC_BACKEND_URL == "https://virtu.example.com"
    assert settings_module.VIRTU_SYNC_API_TOKEN == "from-auth-json"
    assert settings_module.VIRTU_SYNC_BATCH_SIZE == 200
    assert not hasattr(settings_module, "OTHER")


def test_production_settings_without_tokens_change_nothing(settings_module):
    add_plugins(settings_module.__name__, "lms.djangoapp", "common")
    settings_module.VIRTU_SYNC_BATCH_SIZE = 50  # from the YAML configuration
    loaded = plugin_settings_of(settings_module)

    add_plugins(settings_module.__name__, "lms.djangoapp", "production")

    assert plugin_settings_of(settings_module) == loaded
