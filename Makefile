# The two set-up commands of the README:
#   make demo   build everything and run `scoping demo` (offline, bundled real data)
#   make test   build everything and run the whole test suite (CI runs this)

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: install demo test lint bench clean system-packages

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/scoping demo demo-review --replace

system-packages:
	@bash scripts/ensure-system-packages

test: install system-packages
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench || true
	$(BIN)/mypy

bench: install
	$(BIN)/python bench/import_speed.py

clean:
	rm -rf $(VENV) demo-review .pytest_cache .mypy_cache .ruff_cache
