"""
The Tutor plugin ``virtu-sync``: virtu-sync-plugin installed and configured by Tutor.

It installs the package into the Open edX image and configures it in Studio (CMS) and
the LMS from Tutor's configuration::

    tutor plugins enable virtu-sync
    tutor config save --set VIRTU_SYNC_BACKEND_URL=https://virtu.example.com --set VIRTU_SYNC_API_TOKEN=...

A missing or malformed value stops ``tutor config save`` (and every command that renders
the environment) with an error naming it. The signing secret is generated once, kept in
``config.yml``, and never printed; ``tutor config printvalue VIRTU_SYNC_SIGNING_SECRET``
shows it when the backend needs it.
"""

from __future__ import annotations

import typing as t
from importlib import resources
from urllib.parse import urlsplit

from tutor import hooks
from tutor.exceptions import TutorError

from .__about__ import __version__

#: The contract's cap on operations per batch (virtu_sync_plugin.conf.MAX_BATCH_SIZE).
MAX_BATCH_SIZE = 1000

########################################
# CONFIGURATION
########################################

# Values with a default; the defaults are those of virtu_sync_plugin.conf.DEFAULTS
# (tests/test_tutor_plugin.py checks that they agree).
hooks.Filters.CONFIG_DEFAULTS.add_items(
    [
        ("VIRTU_SYNC_VERSION", __version__),
        # What pip installs into the openedx image: a PyPI requirement, or any pip
        # argument such as "git+https://github.com/...@v0.1.0".
        ("VIRTU_SYNC_PIP_REQUIREMENT", "virtu-sync-plugin=={{ VIRTU_SYNC_VERSION }}"),
        ("VIRTU_SYNC_BATCH_SIZE", 200),
        ("VIRTU_SYNC_TIMEOUT", [5.0, 30.0]),
        ("VIRTU_SYNC_ALLOW_INSECURE_HTTP", False),
        # None: the plugin's own list of scorable block types.
        ("VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES", None),
    ]
)

# Generated once per Tutor root, at the first `tutor config save`, and kept in config.yml.
hooks.Filters.CONFIG_UNIQUE.add_items(
    [
        ("VIRTU_SYNC_SIGNING_SECRET", "{{ 32|random_string }}"),
    ]
)

# VIRTU_SYNC_BACKEND_URL and VIRTU_SYNC_API_TOKEN have no default: the operator sets
# them (the token is issued by the Virtu backend), and they are checked below.
REQUIRED = ("VIRTU_SYNC_BACKEND_URL", "VIRTU_SYNC_API_TOKEN")

HOW_TO_SET = (
    "Set them with: tutor config save --set VIRTU_SYNC_BACKEND_URL=https://virtu.example.com "
    "--set VIRTU_SYNC_API_TOKEN=<token from the Virtu backend> (or disable the plugin: "
    "tutor plugins disable virtu-sync)."
)


def config_problems(config: t.Mapping[str, t.Any]) -> list[str]:
    """
    List what is wrong with the ``VIRTU_SYNC_*`` values of a Tutor configuration.

    The messages never quote the API token or the signing secret.
    """
    problems = [f"{name} is not set." for name in REQUIRED if not config.get(name)]
    url = config.get("VIRTU_SYNC_BACKEND_URL")
    insecure_ok = config.get("VIRTU_SYNC_ALLOW_INSECURE_HTTP")
    if not isinstance(insecure_ok, bool):
        problems.append("VIRTU_SYNC_ALLOW_INSECURE_HTTP must be true or false.")
    if url:
        problems.extend(_url_problems(url, insecure_ok is True))
    token = config.get("VIRTU_SYNC_API_TOKEN")
    if token and not isinstance(token, str):
        problems.append("VIRTU_SYNC_API_TOKEN must be a string (quote it).")
    secret = config.get("VIRTU_SYNC_SIGNING_SECRET")
    if secret is not None and not isinstance(secret, str):
        problems.append("VIRTU_SYNC_SIGNING_SECRET must be a string (quote it).")
    batch_size = config.get("VIRTU_SYNC_BATCH_SIZE")
    if not _is_int(batch_size) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        problems.append(f"VIRTU_SYNC_BATCH_SIZE must be a whole number from 1 to {MAX_BATCH_SIZE}.")
    timeout = config.get("VIRTU_SYNC_TIMEOUT")
    pair = isinstance(timeout, list) and len(timeout) == 2 and all(map(_is_positive_number, timeout))
    if not (_is_positive_number(timeout) or pair):
        problems.append("VIRTU_SYNC_TIMEOUT must be a number of seconds or a pair of them: [connect, read].")
    block_types = config.get("VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES")
    if block_types is not None and not (
        isinstance(block_types, list) and all(isinstance(name, str) and name for name in block_types)
    ):
        problems.append("VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES must be a list of block type names, such as [problem].")
    return problems


def _url_problems(url: t.Any, insecure_ok: bool) -> list[str]:
    # The URL is never quoted: it may carry credentials (https://user:password@host).
    if not isinstance(url, str):
        return ["VIRTU_SYNC_BACKEND_URL must be a string."]
    try:
        parts = urlsplit(url)
        has_host = bool(parts.hostname)
    except ValueError:
        has_host = False
    if not has_host or parts.scheme not in ("http", "https"):
        return ["VIRTU_SYNC_BACKEND_URL must be an http(s) URL with a host, such as https://virtu.example.com."]
    if parts.scheme == "http" and not insecure_ok:
        return [
            "VIRTU_SYNC_BACKEND_URL uses plain http: use https, or set VIRTU_SYNC_ALLOW_INSECURE_HTTP=true "
            "(local development only)."
        ]
    return []


def _is_int(value: t.Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_positive_number(value: t.Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


@hooks.Actions.CONFIG_LOADED.add()
def _check_config(config: t.Mapping[str, t.Any]) -> None:
    """Stop before anything is rendered when the plugin cannot work with this configuration."""
    problems = config_problems(config)
    if problems:
        raise TutorError("virtu-sync: " + " ".join(problems) + " " + HOW_TO_SET)


########################################
# PATCHES
########################################

# Each file in patches/ is the patch of the same name: the pip install in the openedx
# image, the settings of Studio (CMS) and the LMS, and the LMS's Celery routing.
for _patch in (resources.files("tutorvirtu_sync") / "patches").iterdir():
    if _patch.is_file():
        hooks.Filters.ENV_PATCHES.add_item((_patch.name, _patch.read_text(encoding="utf-8")))
