"""
Package metadata for virtu_sync_plugin.
"""

import os
import re

from setuptools import find_namespace_packages, setup

HERE = os.path.dirname(os.path.abspath(__file__))


def read(*parts):
    """Return the text of the file at ``parts``, relative to this directory."""
    with open(os.path.join(HERE, *parts), encoding="utf-8") as file:
        return file.read()


def get_version(*file_paths):
    """Return the ``__version__`` string declared in the given file."""
    match = re.search(r"^__version__ = ['\"]([^'\"]*)['\"]", read(*file_paths), re.MULTILINE)
    if not match:
        raise RuntimeError("Unable to find the version string.")
    return match.group(1)


def load_requirements(*requirements_paths):
    """
    Return the requirements listed in the given ``requirements/*.in`` files.

    Version constraints from the files they include with ``-c`` are added to the
    matching requirements, so the installed package honours them too.
    """
    requirements = {}
    constraint_files = set()
    for path in requirements_paths:
        for line in _requirement_lines(path):
            if line.startswith("-c "):
                constraint_files.add(os.path.join(os.path.dirname(path), line[3:].strip()))
            else:
                name, specifier = _split_requirement(line)
                requirements[_normalize(name)] = [name, specifier]
    for path in constraint_files:
        for line in _requirement_lines(path):
            name, specifier = _split_requirement(line)
            if _normalize(name) in requirements:
                requirement = requirements[_normalize(name)]
                requirement[1] = ",".join(filter(None, (requirement[1], specifier)))
    return [name + specifier for name, specifier in requirements.values()]


def _requirement_lines(path):
    """Yield the non-empty lines of a requirements file, comments removed."""
    for line in read(path).splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            yield line


def _split_requirement(line):
    """Split ``"Django>=4.2,<6"`` into ``("Django", ">=4.2,<6")``."""
    name, specifier = re.match(r"([\w.\-]+)\s*(.*)", line).groups()
    return name, specifier.replace(" ", "")


def _normalize(name):
    """Return the project name as PyPI compares it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


setup(
    name="virtu-sync-plugin",
    version=get_version("virtu_sync_plugin", "__init__.py"),
    description="Open edX plugin that syncs course structure from Studio to the Virtu backend.",
    long_description=read("README.rst") + "\n\n" + read("CHANGELOG.rst"),
    long_description_content_type="text/x-rst",
    author="The virtu-sync-plugin authors",
    license="AGPL-3.0-only",
    license_files=["LICENSE.txt"],
    # Namespace discovery also lists the data folders (templates/), so
    # include_package_data ships their files without setuptools' "absent package" warnings.
    packages=find_namespace_packages(include=["virtu_sync_plugin", "virtu_sync_plugin.*"]),
    include_package_data=True,
    install_requires=load_requirements("requirements/base.in"),
    python_requires=">=3.12",
    zip_safe=False,
    keywords="Python edx openedx plugin django course sync",
    classifiers=[
        "Development Status :: 3 - Alpha",
        "Framework :: Django",
        "Framework :: Django :: 4.2",
        "Framework :: Django :: 5.2",
        "Intended Audience :: Developers",
        "Natural Language :: English",
        "Programming Language :: Python :: 3",
        "Programming Language :: Python :: 3.12",
    ],
    entry_points={
        "cms.djangoapp": ["virtu_sync_plugin = virtu_sync_plugin.apps:VirtuSyncPluginConfig"],
        "lms.djangoapp": ["virtu_sync_plugin = virtu_sync_plugin.apps:VirtuSyncPluginConfig"],
    },
)
