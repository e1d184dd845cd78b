# The two commands of the README: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench lint install db deploy clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Migrate, deploy every diagram under bpmn/, serve on http://$${CAUCE_HOST:-127.0.0.1}:$${CAUCE_PORT:-8000}
run: $(STAMP)
	$(BIN)/cauce run

db: $(STAMP)
	$(BIN)/cauce db upgrade

deploy: $(STAMP)
	$(BIN)/cauce deploy

## The whole suite; on PostgreSQL too when CAUCE_TEST_DATABASE_URL is set (CI does it)
test: $(STAMP)
	@if [ -z "$$CAUCE_TEST_DATABASE_URL" ]; then \
	  echo "CAUCE_TEST_DATABASE_URL is not set: persistence tests run on SQLite only."; \
	else echo "Persistence tests run on SQLite and on PostgreSQL at $${CAUCE_TEST_DATABASE_URL##*@}."; fi
	$(BIN)/ruff check .
	$(BIN)/lint-imports --config pyproject.toml
	$(BIN)/python -m pytest -n auto

bench: $(STAMP)
	$(BIN)/python -m bench

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports --config pyproject.toml

clean:
	rm -rf $(VENV) var *.egg-info
