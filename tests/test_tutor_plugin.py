"""
The Tutor plugin (tutor-contrib-virtu-sync), driven through the real ``tutor`` command line
in a temporary Tutor root: no Docker, nothing but the rendered environment is checked.

``tutor`` comes from requirements/tutor.txt (``make requirements`` installs it). The plugin
is loaded from this checkout through Tutor's plugins root (``TUTOR_PLUGINS_ROOT``), with
entry-point plugins ignored, so that the source tree is what is tested and no other
installed Tutor plugin takes part.
"""

import re
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from virtu_sync_plugin import __version__, api, tasks
from virtu_sync_plugin.conf import DEFAULTS, settings_problems

REPO = Path(__file__).resolve().parents[1]
PLUGIN_SOURCE = REPO / "tutor-contrib-virtu-sync"
BACKEND_URL = "https://virtu.example.com"
TOKEN = "token-7c1e5a-not-to-be-printed"
REQUIRED_VALUES = ("--set", f"VIRTU_SYNC_BACKEND_URL={BACKEND_URL}", "--set", f"VIRTU_SYNC_API_TOKEN={TOKEN}")


class Tutor:
    """Runs ``tutor`` commands against one temporary root, keeping everything they print."""

    def __init__(self, root: Path, plugins_root: Path):
        self.root = root
        self.plugins_root = plugins_root
        self.outputs: list[str] = []

    def __call__(self, *args: str) -> subprocess.CompletedProcess:
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(self.root.parent),
            "TUTOR_ROOT": str(self.root),
            "TUTOR_PLUGINS_ROOT": str(self.plugins_root),
            "TUTOR_IGNORE_ENTRYPOINT_PLUGINS": "1",
        }
        run = subprocess.run(
            [sys.executable, "-c", "import sys; from tutor.commands.cli import main; sys.exit(main())", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        self.outputs.append(run.stdout + run.stderr)
        return run

    def ok(self, *args: str) -> subprocess.CompletedProcess:
        run = self(*args)
        assert run.returncode == 0, run.stdout + run.stderr
        return run

    def config(self) -> str:
        return (self.root / "config.yml").read_text()

    def rendered(self, relative_path: str) -> str:
        return (self.root / "env" / relative_path).read_text()


@pytest.fixture
def tutor(tmp_path):
    plugins_root = tmp_path / "tutor-plugins"
    plugins_root.mkdir()
    # A single-file Tutor plugin named "virtu-sync" that loads the package from this checkout.
    (plugins_root / "virtu-sync.py").write_text(
        textwrap.dedent(
            f"""
            import sys
            sys.path.insert(0, {str(PLUGIN_SOURCE)!r})
            import tutorvirtu_sync.plugin  # noqa: F401  (its hooks are the plugin)
            """
        )
    )
    return Tutor(tmp_path / "tutor-root", plugins_root)


@pytest.fixture
def configured(tutor):
    """A Tutor root with the plugin enabled and the two required values set."""
    tutor("plugins", "enable", "virtu-sync")
    tutor.ok("config", "save", *REQUIRED_VALUES)
    return tutor


def signing_secret(tutor: Tutor) -> str:
    return re.search(r"^VIRTU_SYNC_SIGNING_SECRET: (\S+)$", tutor.config(), re.MULTILINE).group(1)


def settings_block(text: str) -> dict:
    """The VIRTU_SYNC_* assignments of a rendered settings file, evaluated."""
    lines = [line for line in text.splitlines() if line.startswith("VIRTU_SYNC_")]
    assert lines, "no VIRTU_SYNC_* settings rendered"
    namespace: dict = {}
    exec("\n".join(lines), {}, namespace)  # the lines Tutor rendered for Django to run
    return namespace


def test_enabling_without_a_backend_url_is_a_clear_error(tutor):
    run = tutor("plugins", "enable", "virtu-sync")

    assert run.returncode != 0
    assert "virtu-sync: VIRTU_SYNC_BACKEND_URL is not set. VIRTU_SYNC_API_TOKEN is not set." in run.stderr
    assert "tutor config save --set VIRTU_SYNC_BACKEND_URL=" in run.stderr
    assert not (tutor.root / "env").exists()


def test_config_save_renders_the_settings_of_studio_and_the_lms(configured):
    expected = {
        "VIRTU_SYNC_BACKEND_URL": BACKEND_URL,
        "VIRTU_SYNC_API_TOKEN": TOKEN,
        "VIRTU_SYNC_SIGNING_SECRET": signing_secret(configured),
        "VIRTU_SYNC_BATCH_SIZE": DEFAULTS["VIRTU_SYNC_BATCH_SIZE"],
        "VIRTU_SYNC_TIMEOUT": list(DEFAULTS["VIRTU_SYNC_TIMEOUT"]),
        "VIRTU_SYNC_ALLOW_INSECURE_HTTP": DEFAULTS["VIRTU_SYNC_ALLOW_INSECURE_HTTP"],
    }
    for settings_file in (
        "apps/openedx/settings/cms/production.py",
        "apps/openedx/settings/cms/development.py",
        "apps/openedx/settings/lms/production.py",
        "apps/openedx/settings/lms/development.py",
    ):
        rendered = settings_block(configured.rendered(settings_file))
        assert rendered == expected, settings_file
        # The plugin's own checks accept what Tutor rendered (its defaults fill the rest).
        assert settings_problems(SimpleNamespace(**rendered)) == [], settings_file


def test_the_lms_sends_its_syncs_to_the_studio_workers(configured):
    lms = configured.rendered("apps/openedx/settings/lms/production.py")

    namespace = {"ALTERNATE_ENV_TASKS": {}}
    block = lms[lms.index("ALTERNATE_ENV_TASKS.update(") :].split("})", 1)[0] + "})"
    exec(block, {}, namespace)
    assert namespace["ALTERNATE_ENV_TASKS"] == {
        "virtu_sync_plugin.tasks.sync_course": "cms",
        "virtu_sync_plugin.tasks.delete_course": "cms",
        "virtu_sync_plugin.tasks.retry_course_sync": "cms",
    }
    # The names the tasks are registered under, and the api queues them by.
    registered = {tasks.sync_course.name, tasks.delete_course.name, tasks.retry_course_sync.name}
    assert registered == set(namespace["ALTERNATE_ENV_TASKS"])
    assert {api.SYNC_COURSE_TASK, api.DELETE_COURSE_TASK, api.RETRY_COURSE_TASK} == registered


def test_the_openedx_image_installs_this_version_of_the_package(configured):
    dockerfile = configured.rendered("build/openedx/Dockerfile")

    assert f"$PIP_COMMAND install 'virtu-sync-plugin=={__version__}'" in dockerfile

    configured.ok(
        "config", "save", "--set", "VIRTU_SYNC_PIP_REQUIREMENT=git+https://git.example.com/virtu-sync-plugin@v9"
    )
    dockerfile = configured.rendered("build/openedx/Dockerfile")
    assert "$PIP_COMMAND install 'git+https://git.example.com/virtu-sync-plugin@v9'" in dockerfile


def test_the_signing_secret_is_generated_once_and_never_printed(configured):
    secret = signing_secret(configured)
    assert re.fullmatch(r"[A-Za-z0-9]{32}", secret)

    configured.ok("config", "save", "--set", "VIRTU_SYNC_BATCH_SIZE=50")
    configured("config", "save", "--set", "VIRTU_SYNC_BACKEND_URL=ftp://virtu.example.com")
    configured("config", "save", "--unset", "VIRTU_SYNC_API_TOKEN")

    assert signing_secret(configured) == secret
    for output in configured.outputs:
        assert secret not in output
        assert TOKEN not in output


def test_a_unique_secret_per_tutor_root(configured, tmp_path):
    other = Tutor(tmp_path / "other-root", configured.plugins_root)
    other("plugins", "enable", "virtu-sync")
    other.ok("config", "save", *REQUIRED_VALUES)

    assert signing_secret(other) != signing_secret(configured)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--unset", "VIRTU_SYNC_BACKEND_URL"], "VIRTU_SYNC_BACKEND_URL is not set."),
        (["--unset", "VIRTU_SYNC_API_TOKEN"], "VIRTU_SYNC_API_TOKEN is not set."),
        (["--set", "VIRTU_SYNC_BACKEND_URL=virtu.example.com"], "must be an http(s) URL with a host"),
        (["--set", "VIRTU_SYNC_BACKEND_URL=http://virtu.local"], "uses plain http"),
        (["--set", "VIRTU_SYNC_BATCH_SIZE=5000"], "VIRTU_SYNC_BATCH_SIZE must be a whole number from 1 to 1000."),
        (["--set", "VIRTU_SYNC_TIMEOUT=[5]"], "VIRTU_SYNC_TIMEOUT must be a number of seconds or a pair"),
        (["--set", "VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES=problem"], "must be a list of block type names"),
    ],
)
def test_a_wrong_value_stops_config_save_and_leaves_the_environment_alone(configured, arguments, message):
    settings_file = configured.root / "env/apps/openedx/settings/cms/production.py"
    before = settings_file.read_text()

    run = configured("config", "save", *arguments)

    assert run.returncode != 0
    assert message in run.stderr
    assert settings_file.read_text() == before


def test_optional_values_reach_the_settings(configured):
    configured.ok(
        "config",
        "save",
        "--set",
        "VIRTU_SYNC_BACKEND_URL=http://virtu.local:8000",
        "--set",
        "VIRTU_SYNC_ALLOW_INSECURE_HTTP=true",
        "--set",
        "VIRTU_SYNC_TIMEOUT=12",
        "--set",
        "VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES=[problem, openassessment]",
        "--set",
        "VIRTU_SYNC_SIGNING_SECRET=",
    )

    rendered = settings_block(configured.rendered("apps/openedx/settings/cms/production.py"))
    assert rendered["VIRTU_SYNC_BACKEND_URL"] == "http://virtu.local:8000"
    assert rendered["VIRTU_SYNC_ALLOW_INSECURE_HTTP"] is True
    assert rendered["VIRTU_SYNC_TIMEOUT"] == 12
    assert rendered["VIRTU_SYNC_ASSESSMENT_BLOCK_TYPES"] == ["problem", "openassessment"]
    assert rendered["VIRTU_SYNC_SIGNING_SECRET"] == ""
    assert settings_problems(SimpleNamespace(**rendered)) == []


def test_disabling_the_plugin_removes_it(configured):
    configured.ok("plugins", "disable", "virtu-sync")

    assert "VIRTU_SYNC" not in configured.rendered("apps/openedx/settings/cms/production.py")
    assert "virtu-sync-plugin" not in configured.rendered("build/openedx/Dockerfile")


def test_the_package_declares_the_tutor_entry_point_and_this_version():
    project = tomllib.loads((PLUGIN_SOURCE / "pyproject.toml").read_text())

    assert project["project"]["entry-points"]["tutor.plugin.v1"] == {"virtu-sync": "tutorvirtu_sync.plugin"}
    assert project["project"]["dynamic"] == ["version"]
    about = subprocess.run(
        [sys.executable, "-c", "from tutorvirtu_sync.__about__ import __version__; print(__version__)"],
        cwd=PLUGIN_SOURCE,
        capture_output=True,
        text=True,
        check=True,
    )
    assert about.stdout.strip() == __version__
