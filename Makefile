.DEFAULT_GOAL := help
.PHONY: help requirements test test-mysql test-browser coverage quality lint imports annotations pii_check check-migrations audit \
	docs validate demo bench upgrade clean mutation

# The Open edX release to test with (README, "Open edX releases"): Python 3.12 and Django 5.2
# (Verawood, Willow) in .venv by default; `make test PYTHON_VERSION=3.11` (Ulmo) and
# `make test PYTHON_VERSION=3.11 DJANGO_VERSION=4.2` (Teak) each have their own virtualenv.
PYTHON_VERSION ?= 3.12
DJANGO_VERSION ?= 5.2
VENV := $(if $(filter 3.12-5.2,$(PYTHON_VERSION)-$(DJANGO_VERSION)),.venv,.venv-py$(PYTHON_VERSION)-django$(DJANGO_VERSION))
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
# Touched after each install, so the venv is refreshed only when these files change.
REQUIREMENTS_STAMP := $(VENV)/.requirements-installed
QUALITY_STAMP := $(VENV)/.quality-installed
DOCS_STAMP := $(VENV)/.docs-installed

# The venv's Python: python$(PYTHON_VERSION) on PATH (a pyenv shim counts only if it runs),
# else the newest $(PYTHON_VERSION).x installed by pyenv. Override with `make BASE_PYTHON=/path/to/python3.12`.
BASE_PYTHON ?= $(shell python$(PYTHON_VERSION) -c "import sys; print(sys.executable)" 2>/dev/null \
	|| ls -d "$$(pyenv root 2>/dev/null || echo "$${PYENV_ROOT:-$$HOME/.pyenv}")"/versions/$(PYTHON_VERSION).*/bin/python$(PYTHON_VERSION) 2>/dev/null \
	| sort -V | tail -n 1)

help: ## display this help message
	@echo "Please use \`make <target>' where <target> is one of"
	@awk -F ':.*?## ' '/^[a-zA-Z_-]+:.*?## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PYTHON):
	@if [ -z "$(BASE_PYTHON)" ]; then \
		echo "Python $(PYTHON_VERSION) not found: put python$(PYTHON_VERSION) on PATH, install it with 'pyenv install $(PYTHON_VERSION)'," >&2; \
		echo "or name it: make BASE_PYTHON=/path/to/python$(PYTHON_VERSION) $(MAKECMDGOALS)" >&2; \
		exit 1; \
	fi
	"$(BASE_PYTHON)" -m venv $(VENV)

# requirements/tutor.txt: Tutor, for tests/test_tutor_plugin.py (about 200 MB, 15 s; compiled against test.txt).
# Python 3.11 installs requirements/py311.txt in their place (the same requirements, compiled
# with Python 3.11), and Django 4.2 requirements/django42.txt (the same again, with Django 4.2).
TEST_REQUIREMENTS := $(if $(filter 4.2,$(DJANGO_VERSION)),requirements/django42.txt,$(if \
	$(filter 3.11,$(PYTHON_VERSION)),requirements/py311.txt,requirements/test.txt requirements/tutor.txt))
$(REQUIREMENTS_STAMP): requirements/pip.txt $(TEST_REQUIREMENTS) setup.py | $(PYTHON)
	$(PIP) install --quiet -r requirements/pip.txt
	$(PIP) install --quiet $(addprefix -r ,$(TEST_REQUIREMENTS)) -e .
	$(PIP) check
	touch $@

$(QUALITY_STAMP): requirements/quality.txt $(REQUIREMENTS_STAMP)
	$(PIP) install --quiet -r requirements/quality.txt
	touch $@

$(DOCS_STAMP): requirements/doc.txt $(QUALITY_STAMP)
	$(PIP) install --quiet -r requirements/doc.txt
	touch $@

requirements: $(REQUIREMENTS_STAMP) ## create .venv (Python 3.12; see PYTHON_VERSION) and install the test requirements and this package

test: requirements ## run the whole test suite
	$(VENV)/bin/pytest

test-mysql: requirements ## run the tests marked mysql against a throwaway MariaDB server (needs mariadb-server)
	$(PIP) install --quiet -r requirements/mysql.txt
	$(PYTHON) scripts/with_mariadb.py -- $(VENV)/bin/pytest -m mysql --ds=tests.mysql_settings --no-cov

# Not in CI: about 20 minutes of one core. Surviving mutants: mutmut results / mutmut show NAME.
mutation: requirements ## mutation testing (mutmut, [mutmut] in setup.cfg) of core/ and change_processor.py
	$(PIP) install --quiet -r requirements/mutation.txt
	nice -n 10 $(VENV)/bin/mutmut run --max-children 1
	$(VENV)/bin/mutmut results

# The admin in a real browser: Debian's chromium (apt-get install chromium), driven by Playwright.
# Deselected from `make test` by the `browser` marker (setup.cfg). CHROMIUM names another binary.
test-browser: requirements ## run the admin tests in a real browser (needs Debian's chromium)
	$(PIP) install --quiet -r requirements/browser.txt
	$(VENV)/bin/pytest -m browser --no-cov

coverage: requirements ## run the tests and write the coverage of virtu_sync_plugin to htmlcov/ and coverage.xml
	$(VENV)/bin/pytest --cov-report=term-missing:skip-covered --cov-report=html --cov-report=xml

quality: lint imports annotations pii_check check-migrations audit ## run every static check below

lint: $(QUALITY_STAMP) ## ruff: lint (rules in pyproject.toml) and formatting
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

imports: $(QUALITY_STAMP) ## import-linter: the contracts in .importlinter (public api/data, pure core)
	$(VENV)/bin/lint-imports

annotations: $(QUALITY_STAMP) ## code-annotations: every setting and toggle fully annotated (OEP-17)
	$(VENV)/bin/code_annotations static_find_annotations --config_file .annotations --lint --no_report

pii_check: $(QUALITY_STAMP) ## code-annotations: a PII annotation on every Django model (OEP-30), 100 %
	DJANGO_SETTINGS_MODULE=test_settings PYTHONPATH=. $(VENV)/bin/code_annotations django_find_annotations \
		--config_file .pii_annotations.yml --lint --report --coverage

check-migrations: requirements ## fail if the models have changes that no migration records
	$(PYTHON) manage.py makemigrations --check --dry-run virtu_sync_plugin

# pip-audit asks PyPI's JSON API which releases have known vulnerabilities. On a network
# that reaches only the package index, nothing can be audited: that fails, unless
# AUDIT_UNREACHABLE=warn (CI on such a network) turns it into a loud warning.
# A known vulnerability that does not apply is ignored with --ignore-vuln ID in
# PIP_AUDIT_IGNORE, each with its reason on a comment line above it. None so far.
AUDIT_UNREACHABLE ?= fail
PIP_AUDIT_IGNORE :=
AUDITED_REQUIREMENTS := pip pip-tools base test tutor django42 py311 quality doc dev mysql browser
audit: $(QUALITY_STAMP) ## pip-audit: no known vulnerability in the pinned requirements/*.txt
	@if $(PYTHON) -c "import urllib.request as u; u.urlopen('https://pypi.org/pypi/pip/24.0/json', timeout=20)" 2>/dev/null; then \
		$(VENV)/bin/pip-audit --strict --no-deps --disable-pip --progress-spinner off $(PIP_AUDIT_IGNORE) \
			$(foreach name,$(AUDITED_REQUIREMENTS),-r requirements/$(name).txt); \
	elif [ "$(AUDIT_UNREACHABLE)" = warn ]; then \
		echo "WARNING: PyPI's vulnerability data (https://pypi.org/pypi/<name>/<version>/json) is out of reach:" >&2; \
		echo "WARNING: the pinned requirements were NOT audited. Run 'make audit' where it is reachable." >&2; \
	else \
		echo "PyPI's vulnerability data (https://pypi.org/pypi/<name>/<version>/json) is out of reach: nothing audited." >&2; \
		echo "Run 'make audit' where it is reachable, or 'make quality AUDIT_UNREACHABLE=warn' to go on without it." >&2; \
		exit 1; \
	fi

docs: $(DOCS_STAMP) ## build the documentation into docs/_build/html (Sphinx, warnings are errors)
	@command -v dot >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing Graphviz (the diagrams) from Debian..."; \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz >/dev/null; \
		else \
			echo "The diagrams need Graphviz: sudo apt-get install graphviz" >&2; exit 1; \
		fi; }
	$(VENV)/bin/doc8 docs README.rst CHANGELOG.rst tutor-contrib-virtu-sync/README.rst
	rm -rf docs/_build/html docs/_build/doctrees
	$(VENV)/bin/sphinx-build -W --keep-going -b html -d docs/_build/doctrees docs docs/_build/html

validate: quality docs test ## everything CI checks: quality, docs and the tests

demo: requirements ## sync the sample course to a local reference backend, end to end
	$(PYTHON) demo/run_demo.py

bench: requirements ## measure speed and memory (docs/performance.rst); writes benchmarks/results/latest.json (~8 min)
	$(PYTHON) -m benchmarks.run

# Compiled in this order because each file may include one compiled before it (tutor.in: -c test.txt),
# with Python 3.12; then py311.txt and django42.txt with Python 3.11, in its own virtualenv.
upgrade: export CUSTOM_COMPILE_COMMAND=make upgrade
upgrade: REQUIREMENTS_TO_COMPILE = $(if $(filter 3.11,$(PYTHON_VERSION)),py311 django42,pip pip-tools base test tutor quality doc dev mysql mutation browser)
upgrade: | $(PYTHON) ## update requirements/*.txt with the latest packages allowed by requirements/*.in
	$(PIP) install --quiet -r requirements/pip-tools.txt
	for name in $(REQUIREMENTS_TO_COMPILE); do \
		$(VENV)/bin/pip-compile --quiet --upgrade --rebuild --allow-unsafe --strip-extras \
			--no-emit-index-url --no-emit-find-links \
			-o requirements/$$name.txt requirements/$$name.in || exit 1; \
	done
	$(if $(filter 3.11,$(PYTHON_VERSION)),,$(MAKE) upgrade PYTHON_VERSION=3.11)

clean: ## remove the virtualenv, build artifacts and caches
	rm -rf .venv .venv-py* .tox build dist *.egg-info .pytest_cache .ruff_cache .hypothesis .coverage coverage.xml htmlcov mutants
	rm -rf docs/_build tutor-contrib-virtu-sync/build tutor-contrib-virtu-sync/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
