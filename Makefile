# The two set-up commands of the README:
#   make demo   build everything and run `scoping demo` (offline, bundled real data)
#   make test   build everything and run the whole test suite (CI runs this, then `make lint`)
#
# Installs are reproducible: the virtual environment gets exactly the versions pinned (with
# hashes) in requirements.lock, then scoping itself without resolving anything again.
# `make lock` refreshes the lock from pyproject.toml's ranges (uv pip compile; see README).

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
LOCK    = requirements.lock
# Tests run in parallel processes (pytest-xdist); `make test TEST_WORKERS=0` runs them in one.
TEST_WORKERS ?= 2

.PHONY: install demo test lint lock bench clean system-packages

$(BIN)/.installed: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r $(LOCK)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	$(BIN)/python -m pip check
	touch $@

install: $(BIN)/.installed

demo: install
	$(BIN)/scoping demo demo-review --replace

system-packages:
	@bash scripts/ensure-system-packages

test: install system-packages
	@# bytecode for our own modules, even where PYTHONDONTWRITEBYTECODE is set: the tests start
	@# `python -m scoping` many times, and compiling src/ costs each start about 0.25 s
	$(BIN)/python -m compileall -q src
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

lint: install
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

lock: install
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 \
		--generate-hashes --upgrade --quiet -o $(LOCK)

bench: install
	$(BIN)/python bench/import_speed.py

clean:
	rm -rf $(VENV) demo-review .pytest_cache .mypy_cache .ruff_cache
