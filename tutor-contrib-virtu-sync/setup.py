"""
The version of tutor-contrib-virtu-sync: that of virtu-sync-plugin, read from its one place.

Everything else is in pyproject.toml.
"""

import re
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
VERSION_PATTERN = r"^__version__ = ['\"]([^'\"]+)['\"]"


def version():
    """``__version__`` of ../virtu_sync_plugin/__init__.py, or of PKG-INFO in an sdist of this package."""
    source = HERE.parent / "virtu_sync_plugin" / "__init__.py"
    if source.is_file():
        return re.search(VERSION_PATTERN, source.read_text("utf-8"), re.MULTILINE).group(1)
    return re.search(r"^Version: (\S+)$", (HERE / "PKG-INFO").read_text("utf-8"), re.MULTILINE).group(1)


setup(version=version())
