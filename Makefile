# wlpanel — setup, run and test (the README's commands).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha256sum requirements/lock.txt | cut -c1-16)

.PHONY: setup run test lint bench-provision bench-web bench-audit clean

setup: $(STAMP)

$(STAMP): requirements/lock.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements/lock.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

run: setup
	$(BIN)/python scripts/run.py

test: setup
	$(BIN)/python scripts/check_services.py
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/python manage.py makemigrations --check --dry-run

bench-provision: setup
	$(BIN)/python bench/provision.py

bench-web: setup
	$(BIN)/python bench/web.py

bench-audit: setup
	$(BIN)/python bench/audit.py

clean:
	rm -rf $(VENV) staticfiles var test-artifacts
