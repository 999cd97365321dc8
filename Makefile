# One entry point for developers and CI. `make run` starts the example project, `make test`
# runs the test suite; both create the virtualenv first. `make run` installs what the project
# needs to run (requirements.txt), `make test` the test, lint and browser tools on top
# (requirements-dev.txt).
#
#   make run                     example project on http://127.0.0.1:8000 (SQLite by default;
#                                PORT=8001 for another port)
#   make test                    the tests (SQLite by default; set DATABASE_URL for PostgreSQL)
#   make superuser               create an admin login for the example project
#
# PYTHON picks the interpreter (3.11 or newer), VENV the virtualenv folder.

PYTHON ?= python3
VENV ?= .venv
# CI runs the tests under coverage: make test TEST_RUNNER="coverage run -m pytest"
TEST_RUNNER ?= pytest
# Not ?=: a PORT in the environment, which many hosts set, must not move it.
PORT = 8000
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# One stamp per requirements file: the development install includes the runtime's.
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: install install-dev run test superuser migrations-check clean

install: $(STAMP)

install-dev: $(DEV_STAMP)

$(STAMP): requirements.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; set PYTHON=python3.11 or newer.")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

$(DEV_STAMP): $(STAMP) requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $(DEV_STAMP)

run: install
	$(BIN)/python manage.py migrate
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: install-dev
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m $(TEST_RUNNER) $(PYTEST_ARGS)

superuser: install
	$(BIN)/python manage.py createsuperuser

clean:
	rm -rf $(VENV) .pytest_cache
