"""
The distributions: ``python -m build`` gives an sdist and a wheel (built from that sdist)
that install in a fresh virtualenv with their data files, migrations and entry points.

Marked ``packaging`` (select with ``-m packaging``, leave out with ``-m "not packaging"``).
Takes about half a minute: each install is a new virtualenv whose dependencies come from
PyPI (or pip's cache), pinned by requirements/base.txt.
"""

import re
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from virtu_sync_plugin import __version__

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "virtu_sync_plugin"
WHEEL = f"virtu_sync_plugin-{__version__}-py3-none-any.whl"
SDIST = f"virtu_sync_plugin-{__version__}.tar.gz"
REQUIRED_FILES = (
    "virtu_sync_plugin/migrations/0001_initial.py",
    "virtu_sync_plugin/templates/virtu_sync_plugin/admin/dry_run.html",
)

# Run with the new virtualenv's Python: what an operator's Studio would see after pip install.
CHECK_INSTALLED = textwrap.dedent(
    """
    import importlib
    import importlib.metadata as metadata
    import importlib.util
    import importlib.resources as resources
    import sys

    expected_version, *expected_files = sys.argv[1:]
    root = resources.files("virtu_sync_plugin")
    missing = [name for name in expected_files if not (root / name).is_file()]
    assert not missing, f"not installed: {missing}"
    assert metadata.version("virtu-sync-plugin") == expected_version

    for group in ("cms.djangoapp", "lms.djangoapp"):
        (entry_point,) = [ep for ep in metadata.entry_points(group=group) if ep.name == "virtu_sync_plugin"]
        config = entry_point.load()
        assert config.name == "virtu_sync_plugin" and config.plugin_app, group
        for settings_type in config.plugin_app["settings_config"][group].values():
            importlib.import_module("virtu_sync_plugin." + settings_type["relative_path"]).plugin_settings

    import django
    from django.conf import settings

    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
            "django.contrib.sessions", "django.contrib.messages", "waffle", "config_models",
            "virtu_sync_plugin",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}],
        USE_TZ=True,
    )
    django.setup()
    from django.core.management import call_command, get_commands
    from django.db import connection
    from django.template.loader import get_template

    call_command("migrate", verbosity=0)
    tables = set(connection.introspection.table_names())
    assert {"virtu_sync_plugin_coursesyncstate", "virtu_sync_plugin_syncoperation"} <= tables, tables
    call_command("makemigrations", "virtu_sync_plugin", check=True, dry_run=True, verbosity=0)
    assert {"virtu_sync_backfill", "virtu_sync_preview", "virtu_sync_verify"} <= set(get_commands())
    get_template("virtu_sync_plugin/admin/dry_run.html")
    importlib.import_module("virtu_sync_plugin.admin")
    importlib.import_module("virtu_sync_plugin.tasks")
    importlib.import_module("virtu_sync_plugin.export_diff")
    # No test double came along: the preview reads exports with edx-platform's own reader.
    for test_double in ("olx_modulestore", "xmodule"):
        assert importlib.util.find_spec(test_double) is None, test_double
    print("installed and working")
    """
)


def run(*command, **kwargs):
    completed = subprocess.run(command, capture_output=True, text=True, timeout=300, **kwargs)
    assert completed.returncode == 0, f"{' '.join(map(str, command))}\n{completed.stdout}\n{completed.stderr}"
    return completed


def build(source: Path, outdir: Path) -> None:
    """``python -m build``: the sdist, then the wheel from it (so the sdist must be complete)."""
    run(sys.executable, "-m", "build", "--no-isolation", "--outdir", str(outdir), str(source))


def package_files() -> set[str]:
    """Every file of the package in this tree, as a path inside a distribution."""
    return {
        str(path.relative_to(REPO))
        for path in PACKAGE.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("dist")
    build(REPO, outdir)
    return outdir


def fresh_venv_with(tmp_path: Path, distribution: Path) -> Path:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", str(venv))
    python = venv / "bin" / "python"
    # The distribution's own dependencies, resolved by pip, at the versions CI tests with.
    run(str(python), "-m", "pip", "install", "--quiet", str(distribution), "-c", str(REPO / "requirements/base.txt"))
    return python


def test_the_wheel_carries_every_file_of_the_package(dist):
    names = set(zipfile.ZipFile(dist / WHEEL).namelist())

    assert set(REQUIRED_FILES) <= names
    assert package_files() <= names
    assert not [name for name in names if name.startswith(("tests/", "demo/", "reference_backend/", "stand_ins/"))]
    # No test double: no stand-in module, no sample course, no code that imports them.
    assert not [name for name in names if name.startswith(("olx", "xmodule/")) or "sample_course" in name]
    wheel = zipfile.ZipFile(dist / WHEEL)
    sources = {name: wheel.read(name).decode() for name in names if name.endswith(".py")}
    assert not [name for name, source in sources.items() if re.search(r"^\s*(from|import) olx", source, re.M)]
    metadata = Parser().parsestr(
        zipfile.ZipFile(dist / WHEEL).read(f"virtu_sync_plugin-{__version__}.dist-info/METADATA").decode()
    )
    assert metadata["Name"] == "virtu-sync-plugin"
    assert metadata["Version"] == __version__


def test_the_sdist_carries_every_file_of_the_package(dist):
    prefix = f"virtu_sync_plugin-{__version__}/"
    names = {name.removeprefix(prefix) for name in tarfile.open(dist / SDIST).getnames()}

    assert package_files() <= names
    assert {"setup.py", "pyproject.toml", "requirements/base.in", "requirements/constraints.txt"} <= names


@pytest.mark.parametrize("artifact", [WHEEL, SDIST])
def test_it_installs_in_a_fresh_virtualenv_and_works(dist, tmp_path, artifact):
    python = fresh_venv_with(tmp_path, dist / artifact)

    completed = run(
        str(python), "-c", CHECK_INSTALLED, __version__, *(name.split("/", 1)[1] for name in REQUIRED_FILES)
    )
    assert "installed and working" in completed.stdout


def test_the_tutor_plugin_builds_with_this_version_and_its_entry_point(tmp_path):
    build(REPO / "tutor-contrib-virtu-sync", tmp_path)

    wheel = zipfile.ZipFile(tmp_path / f"tutor_contrib_virtu_sync-{__version__}-py3-none-any.whl")
    names = set(wheel.namelist())
    dist_info = f"tutor_contrib_virtu_sync-{__version__}.dist-info"
    assert "tutorvirtu_sync/patches/openedx-cms-common-settings" in names
    assert "tutorvirtu_sync/patches/openedx-dockerfile-post-python-requirements" in names
    entry_points = wheel.read(f"{dist_info}/entry_points.txt").decode()
    assert "[tutor.plugin.v1]\nvirtu-sync = tutorvirtu_sync.plugin" in entry_points
    assert (tmp_path / f"tutor_contrib_virtu_sync-{__version__}.tar.gz").is_file()
