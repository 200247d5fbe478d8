"""
Sphinx configuration of the virtu-sync-plugin documentation (``make docs``).

The reference pages are written at build time from the code (``_ext/virtu_docs.py``):
settings and toggles from their annotations, the contract from its OpenAPI document, the
management commands from their argument parsers. Django is set up with the test settings
so that the commands and the API can be imported. Nothing is fetched from the network.
"""

import os
import re
import sys
from datetime import date
from pathlib import Path

import django

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path[:0] = [str(REPO), str(DOCS / "_ext")]
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "test_settings")
django.setup()

project = "virtu-sync-plugin"
author = "The virtu-sync-plugin authors"
copyright = f"{date.today().year}, {author}"  # the name Sphinx reads
release = re.search(
    r"^__version__ = ['\"]([^'\"]+)['\"]", (REPO / "virtu_sync_plugin" / "__init__.py").read_text(), re.MULTILINE
).group(1)
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.graphviz",
    "virtu_docs",
]

exclude_patterns = ["_build", "openapi", "_ext"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": False}

graphviz_output_format = "svg"

html_theme = "sphinx_book_theme"
html_title = f"virtu-sync-plugin {release}"
html_theme_options = {"show_toc_level": 2}
html_static_path = []


def _without_missing_performance_page(app, docname, source):
    """Drop the index's toctree of performance.rst while that page does not exist."""
    if docname == "index" and not (DOCS / "performance.rst").exists():
        source[0] = re.sub(r"\.\. performance-toctree-start.*?\.\. performance-toctree-end", "", source[0], flags=re.S)


def setup(app):
    app.connect("source-read", _without_missing_performance_page)
