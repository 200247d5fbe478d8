.DEFAULT_GOAL := help
.PHONY: help requirements test test-mysql quality demo upgrade clean

VENV := .venv
PYTHON := $(VENV)/bin/python
PIP := $(PYTHON) -m pip
# Open edX's line length; the target version is otherwise guessed.
RUFF_OPTIONS := --line-length 120 --target-version py312
# Touched after each install, so the venv is refreshed only when these files change.
REQUIREMENTS_STAMP := $(VENV)/.requirements-installed
QUALITY_STAMP := $(VENV)/.quality-installed

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

$(REQUIREMENTS_STAMP): requirements/pip.txt requirements/test.txt setup.py | $(PYTHON)
	$(PIP) install --quiet -r requirements/pip.txt
	$(PIP) install --quiet -r requirements/test.txt -e .
	touch $@

$(QUALITY_STAMP): requirements/quality.txt $(REQUIREMENTS_STAMP)
	$(PIP) install --quiet -r requirements/quality.txt
	touch $@

requirements: $(REQUIREMENTS_STAMP) ## create .venv (Python 3.12) and install the test requirements and this package

test: requirements ## run the whole test suite
	$(VENV)/bin/pytest

test-mysql: requirements ## run the tests marked mysql against a throwaway MariaDB server (needs mariadb-server)
	$(PIP) install --quiet -r requirements/mysql.txt
	$(PYTHON) scripts/with_mariadb.py -- $(VENV)/bin/pytest -m mysql --ds=tests.mysql_settings --no-cov

quality: $(QUALITY_STAMP) ## check code style and formatting with ruff
	$(VENV)/bin/ruff check $(RUFF_OPTIONS) .
	$(VENV)/bin/ruff format --check $(RUFF_OPTIONS) .

demo: requirements ## sync the sample course to a local reference backend, end to end
	$(PYTHON) demo/run_demo.py

# Compiled in this order because each file may include one compiled before it (test.in: -r base.txt).
upgrade: export CUSTOM_COMPILE_COMMAND=make upgrade
upgrade: | $(PYTHON) ## update requirements/*.txt with the latest packages allowed by requirements/*.in
	$(PIP) install --quiet -r requirements/pip-tools.txt
	for name in pip pip-tools base test quality dev mysql; do \
		$(VENV)/bin/pip-compile --quiet --upgrade --rebuild --allow-unsafe --strip-extras \
			--no-emit-index-url --no-emit-find-links \
			-o requirements/$$name.txt requirements/$$name.in || exit 1; \
	done

clean: ## remove the virtualenv, build artifacts and caches
	rm -rf $(VENV) .tox build dist *.egg-info .pytest_cache .ruff_cache .hypothesis .coverage coverage.xml htmlcov
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
