.DEFAULT_GOAL := help
.PHONY: help requirements test test-mysql test-browser coverage quality lint imports annotations pii_check check-migrations audit \
	docs validate demo bench upgrade clean mutation

VENV := .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
# Touched after each install, so the venv is refreshed only when these files change.
REQUIREMENTS_STAMP := $(VENV)/.requirements-installed
QUALITY_STAMP := $(VENV)/.quality-installed
DOCS_STAMP := $(VENV)/.docs-installed

# Python 3.12 for the venv: python3.12 on PATH (a pyenv shim counts only if it runs),
# else the newest 3.12.x installed by pyenv. Override with `make PYTHON312=/path/to/python3.12`.
PYTHON312 ?= $(shell python3.12 -c "import sys; print(sys.executable)" 2>/dev/null \
	|| ls -d "$$(pyenv root 2>/dev/null || echo "$${PYENV_ROOT:-$$HOME/.pyenv}")"/versions/3.12.*/bin/python3.12 2>/dev/null \
	| sort -V | tail -n 1)

help: ## display this help message
	@echo "Please use \`make <target>' where <target> is one of"
	@awk -F ':.*?## ' '/^[a-zA-Z_-]+:.*?## / {printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(PYTHON):
	@if [ -z "$(PYTHON312)" ]; then \
		echo "Python 3.12 not found: put python3.12 on PATH, install it with 'pyenv install 3.12'," >&2; \
		echo "or name it: make PYTHON312=/path/to/python3.12 $(MAKECMDGOALS)" >&2; \
		exit 1; \
	fi
	"$(PYTHON312)" -m venv $(VENV)

# requirements/tutor.txt: Tutor, for tests/test_tutor_plugin.py (about 200 MB, 15 s; compiled against test.txt).
$(REQUIREMENTS_STAMP): requirements/pip.txt requirements/test.txt requirements/tutor.txt setup.py | $(PYTHON)
	$(PIP) install --quiet -r requirements/pip.txt
	$(PIP) install --quiet -r requirements/test.txt -r requirements/tutor.txt -e .
	touch $@

$(QUALITY_STAMP): requirements/quality.txt $(REQUIREMENTS_STAMP)
	$(PIP) install --quiet -r requirements/quality.txt
	touch $@

$(DOCS_STAMP): requirements/doc.txt $(QUALITY_STAMP)
	$(PIP) install --quiet -r requirements/doc.txt
	touch $@

requirements: $(REQUIREMENTS_STAMP) ## create .venv (Python 3.12) and install the test requirements and this package

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
AUDITED_REQUIREMENTS := pip pip-tools base test tutor quality doc dev mysql browser
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

# Compiled in this order because each file may include one compiled before it (test.in: -r base.txt).
upgrade: export CUSTOM_COMPILE_COMMAND=make upgrade
upgrade: | $(PYTHON) ## update requirements/*.txt with the latest packages allowed by requirements/*.in
	$(PIP) install --quiet -r requirements/pip-tools.txt
	for name in pip pip-tools base test tutor quality doc dev mysql mutation browser; do \
		$(VENV)/bin/pip-compile --quiet --upgrade --rebuild --allow-unsafe --strip-extras \
			--no-emit-index-url --no-emit-find-links \
			-o requirements/$$name.txt requirements/$$name.in || exit 1; \
	done

clean: ## remove the virtualenv, build artifacts and caches
	rm -rf $(VENV) .tox build dist *.egg-info .pytest_cache .ruff_cache .hypothesis .coverage coverage.xml htmlcov mutants
	rm -rf docs/_build tutor-contrib-virtu-sync/build tutor-contrib-virtu-sync/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
