"""Tests of the plugin's settings: typed reading and the operator-facing checks."""

from types import SimpleNamespace

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from virtu_sync_plugin.conf import DEFAULTS, SyncSettings, get_sync_settings, settings_problems

TOKEN = "token-that-must-not-leak"
SECRET = "secret-that-must-not-leak"


def configured(**overrides):
    """Settings with a usable backend configuration, changed by ``overrides``."""
    values = {
        "VIRTU_SYNC_BACKEND_URL": "https://virtu.example.com",
        "VIRTU_SYNC_API_TOKEN": TOKEN,
        "VIRTU_SYNC_SIGNING_SECRET": SECRET,
    }
    return SimpleNamespace(**(values | overrides))


def test_defaults_are_usable_and_mean_not_configured():
    assert settings_problems(SimpleNamespace()) == []
    assert DEFAULTS["VIRTU_SYNC_BACKEND_URL"] == ""


def test_default_assessment_types_are_the_scorable_blocks():
    block_types = DEFAULTS["VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES"]
    assert {"problem", "openassessment", "drag-and-drop-v2", "lti_consumer"} <= set(block_types)
    assert not {"html", "video", "discussion", "done"} & set(block_types)


@override_settings(
    VIRTU_SYNC_BACKEND_URL="http://localhost:8000",
    VIRTU_SYNC_API_TOKEN=TOKEN,
    VIRTU_SYNC_SIGNING_SECRET="",
    VIRTU_SYNC_BATCH_SIZE=50,
    VIRTU_SYNC_TIMEOUT=[2, 10],
    VIRTU_SYNC_ALLOW_INSECURE_HTTP=True,
    VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES=["problem", "problem", "edx_sga"],
)
def test_get_sync_settings_reads_and_types_the_settings():
    assert get_sync_settings() == SyncSettings(
        backend_url="http://localhost:8000",
        api_token=TOKEN,
        signing_secret="",
        batch_size=50,
        connect_timeout=2.0,
        read_timeout=10.0,
        allow_insecure_http=True,
        assessment_block_types=frozenset({"problem", "edx_sga"}),
    )


@override_settings(VIRTU_SYNC_TIMEOUT=7)
def test_a_single_timeout_applies_to_connect_and_read():
    sync_settings = get_sync_settings()
    assert (sync_settings.connect_timeout, sync_settings.read_timeout) == (7.0, 7.0)


def test_settings_are_read_at_call_time():
    with override_settings(VIRTU_SYNC_BATCH_SIZE=10):
        assert get_sync_settings().batch_size == 10
    with override_settings(VIRTU_SYNC_BATCH_SIZE=20):
        assert get_sync_settings().batch_size == 20


@override_settings(VIRTU_SYNC_BATCH_SIZE=0, VIRTU_SYNC_API_TOKEN="")
def test_get_sync_settings_refuses_bad_settings_and_names_every_problem():
    with pytest.raises(ImproperlyConfigured) as raised:
        get_sync_settings()
    assert "VIRTU_SYNC_BATCH_SIZE" in str(raised.value)
    assert "VIRTU_SYNC_API_TOKEN is empty" in str(raised.value)


def test_secrets_stay_out_of_the_repr():
    with override_settings(VIRTU_SYNC_API_TOKEN=TOKEN, VIRTU_SYNC_SIGNING_SECRET=SECRET):
        text = repr(get_sync_settings())
    assert TOKEN not in text
    assert SECRET not in text
    assert "batch_size" in text


def test_sync_settings_are_frozen():
    with pytest.raises(AttributeError):
        get_sync_settings().batch_size = 1


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"VIRTU_SYNC_BACKEND_URL": "ftp://virtu.example.com"}, "must be an http(s) URL"),
        ({"VIRTU_SYNC_BACKEND_URL": "virtu.example.com"}, "must be an http(s) URL"),
        ({"VIRTU_SYNC_BACKEND_URL": "https://"}, "must be an http(s) URL"),
        ({"VIRTU_SYNC_BACKEND_URL": "https://virtu.example.com:port"}, "must be an http(s) URL"),
        ({"VIRTU_SYNC_BACKEND_URL": None}, "VIRTU_SYNC_BACKEND_URL must be a string"),
        ({"VIRTU_SYNC_BACKEND_URL": "http://virtu.example.com"}, "uses plain http"),
        (
            {"VIRTU_SYNC_BACKEND_URL": "http://localhost:8000", "VIRTU_SYNC_ALLOW_INSECURE_HTTP": "yes"},
            "VIRTU_SYNC_ALLOW_INSECURE_HTTP must be True or False",
        ),
        ({"VIRTU_SYNC_API_TOKEN": ""}, "VIRTU_SYNC_API_TOKEN is empty although VIRTU_SYNC_BACKEND_URL is set"),
        ({"VIRTU_SYNC_API_TOKEN": None}, "VIRTU_SYNC_API_TOKEN must be a string"),
        ({"VIRTU_SYNC_SIGNING_SECRET": b"bytes"}, "VIRTU_SYNC_SIGNING_SECRET must be a string"),
        ({"VIRTU_SYNC_BATCH_SIZE": 0}, "VIRTU_SYNC_BATCH_SIZE must be a whole number from 1 to 1000"),
        ({"VIRTU_SYNC_BATCH_SIZE": 1001}, "VIRTU_SYNC_BATCH_SIZE"),
        ({"VIRTU_SYNC_BATCH_SIZE": "200"}, "VIRTU_SYNC_BATCH_SIZE"),
        ({"VIRTU_SYNC_BATCH_SIZE": 2.0}, "VIRTU_SYNC_BATCH_SIZE"),
        ({"VIRTU_SYNC_BATCH_SIZE": True}, "VIRTU_SYNC_BATCH_SIZE"),
        ({"VIRTU_SYNC_TIMEOUT": 0}, "VIRTU_SYNC_TIMEOUT must be a positive number of seconds"),
        ({"VIRTU_SYNC_TIMEOUT": -1.5}, "VIRTU_SYNC_TIMEOUT"),
        ({"VIRTU_SYNC_TIMEOUT": float("nan")}, "VIRTU_SYNC_TIMEOUT"),
        ({"VIRTU_SYNC_TIMEOUT": float("inf")}, "VIRTU_SYNC_TIMEOUT"),
        ({"VIRTU_SYNC_TIMEOUT": "30"}, "VIRTU_SYNC_TIMEOUT"),
        ({"VIRTU_SYNC_TIMEOUT": (5, 30, 60)}, "VIRTU_SYNC_TIMEOUT"),
        ({"VIRTU_SYNC_TIMEOUT": (5, 0)}, "VIRTU_SYNC_TIMEOUT"),
        ({"VIRTU_SYNC_TIMEOUT": (True, 30)}, "VIRTU_SYNC_TIMEOUT"),
        ({"VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES": "problem"}, "VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES must be a list"),
        ({"VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES": ["problem", 3]}, "VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES"),
        ({"VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES": ["problem", ""]}, "VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES"),
        ({"VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES": None}, "VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES"),
        ({"VIRTU_SYNC_RETRY_FOR": -1}, "VIRTU_SYNC_RETRY_FOR must be a number of seconds >= 0"),
        ({"VIRTU_SYNC_RETRY_FOR": "7 days"}, "VIRTU_SYNC_RETRY_FOR"),
        ({"VIRTU_SYNC_RETRY_FOR": True}, "VIRTU_SYNC_RETRY_FOR"),
        ({"VIRTU_SYNC_RETRY_DELAYS": 60}, "VIRTU_SYNC_RETRY_DELAYS must be a pair of seconds"),
        ({"VIRTU_SYNC_RETRY_DELAYS": (600, 60)}, "VIRTU_SYNC_RETRY_DELAYS"),
        ({"VIRTU_SYNC_RETRY_DELAYS": (60, 7200)}, "at most 3600 (the broker's visibility timeout)"),
        ({"VIRTU_SYNC_RETRY_DELAYS": (0, 60)}, "VIRTU_SYNC_RETRY_DELAYS"),
        ({"VIRTU_SYNC_LEASE_SECONDS": 0}, "VIRTU_SYNC_LEASE_SECONDS must be a positive number of seconds"),
        ({"VIRTU_SYNC_HEARTBEAT_OUT_OF_SYNC_SECONDS": "1h"}, "VIRTU_SYNC_HEARTBEAT_OUT_OF_SYNC_SECONDS"),
    ],
)
def test_settings_problems_names_the_problem(overrides, expected):
    problems = settings_problems(configured(**overrides))
    assert any(expected in problem for problem in problems), problems


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"VIRTU_SYNC_BACKEND_URL": "https://virtu.example.com:8443/base/"},
        {"VIRTU_SYNC_BACKEND_URL": "http://127.0.0.1:8000", "VIRTU_SYNC_ALLOW_INSECURE_HTTP": True},
        {"VIRTU_SYNC_BACKEND_URL": "", "VIRTU_SYNC_API_TOKEN": ""},
        {"VIRTU_SYNC_SIGNING_SECRET": ""},
        {"VIRTU_SYNC_BATCH_SIZE": 1},
        {"VIRTU_SYNC_BATCH_SIZE": 1000},
        {"VIRTU_SYNC_TIMEOUT": 0.5},
        {"VIRTU_SYNC_TIMEOUT": [3, 20.5]},
        {"VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES": []},
        {"VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES": ("problem",)},
        {"VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES": {"problem", "my_scored_xblock"}},
        {"VIRTU_SYNC_RETRY_FOR": 0},
        {"VIRTU_SYNC_RETRY_FOR": 3600.5},
        {"VIRTU_SYNC_RETRY_DELAYS": [1, 3600]},
        {"VIRTU_SYNC_LEASE_SECONDS": 3},
    ],
)
def test_settings_problems_accepts_valid_settings(overrides):
    assert settings_problems(configured(**overrides)) == []


def test_problems_never_quote_secrets_or_the_url():
    url_with_credentials = "ftp://user:url-password@virtu.example.com"
    bad = configured(
        VIRTU_SYNC_BACKEND_URL=url_with_credentials,
        VIRTU_SYNC_BATCH_SIZE=-1,
        VIRTU_SYNC_TIMEOUT="soon",
        VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES=7,
    )
    text = " ".join(settings_problems(bad))
    assert len(settings_problems(bad)) == 4
    for secret in (TOKEN, SECRET, "url-password"):
        assert secret not in text
