"""
The version of this plugin, which is the version of virtu-sync-plugin it installs.

Both packages are released together from one repository, and the version is written in
one place only: ``virtu_sync_plugin/__init__.py``. A source checkout reads it there; an
installed copy of this plugin reads its own metadata, which ``setup.py`` took from there.
"""

import re
from importlib import metadata
from pathlib import Path

_SOURCE_VERSION_FILE = Path(__file__).resolve().parents[2] / "virtu_sync_plugin" / "__init__.py"


def _version() -> str:
    if _SOURCE_VERSION_FILE.is_file():
        match = re.search(r"^__version__ = ['\"]([^'\"]+)['\"]", _SOURCE_VERSION_FILE.read_text("utf-8"), re.M)
        if match:
            return match.group(1)
    return metadata.version("tutor-contrib-virtu-sync")


__version__ = _version()
