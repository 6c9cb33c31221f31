# crosspost: `make demo` to see it work, `make test` to run the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
ADAPTERS := $(wildcard adapters/*/pyproject.toml)

.PHONY: demo test lint install bench clean

$(STAMP): pyproject.toml $(ADAPTERS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' $(foreach a,$(ADAPTERS),-e $(dir $(a)))
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python demo/make_demo_calendar.py
	@echo "Posts (and the demo blog feed) go to var/outbox/<account>/ -- press Ctrl-C to stop."
	$(BIN)/crosspost --config demo/crosspost.toml run

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check src tests adapters bench demo
	$(BIN)/ruff format --check src tests adapters bench demo
	$(BIN)/mypy src $(wildcard adapters/*/src)

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
