# crosspost: `make demo` to see it work, `make test` to run the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUNTIME := $(VENV)/.installed
TOOLS   := $(VENV)/.test-tools
ADAPTERS := $(wildcard adapters/*/pyproject.toml)

.PHONY: demo test lint install bench chaos clean

# What the service needs: crosspost and every adapter under adapters/, nothing for tests.
$(RUNTIME): pyproject.toml $(ADAPTERS)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[report]' $(foreach a,$(ADAPTERS),-e $(dir $(a)))
	touch $(RUNTIME)

# The test tools (pytest, ruff, mypy...), on top.
$(TOOLS): $(RUNTIME)
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(TOOLS)

install: $(RUNTIME)

demo: $(RUNTIME)
	$(BIN)/python demo/make_demo_calendar.py
	@echo "Posts (and the demo blog feed) go to var/outbox/<account>/ -- press Ctrl-C to stop."
	$(BIN)/crosspost --config demo/crosspost.toml run

test: $(TOOLS)
	$(BIN)/pytest -q

lint: $(TOOLS)
	$(BIN)/ruff check src tests adapters bench demo
	$(BIN)/ruff format --check src tests adapters bench demo
	$(BIN)/mypy src $(wildcard adapters/*/src)

bench: $(TOOLS)
	$(BIN)/python bench/run_all.py

# The crash and fault suite at full size (about 10 minutes): 200 kill -9s, 300 + 480 deliveries.
chaos: $(TOOLS)
	$(BIN)/python bench/chaos.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
