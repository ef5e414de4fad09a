# Two commands set everything up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STUBS := typings/esp32/.installed typings/rp2/.installed

.PHONY: demo test test-all test-faults lint format clean audit

demo: $(VENV)/.demo-installed
	$(BIN)/gatehouse demo

test: $(VENV)/.test-installed $(STUBS)
	@scripts/setup-system.sh chromium
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -q -m "not slow and not faults"
	$(BIN)/python scripts/audit_deps.py $(AUDIT_ACCEPT)

# Known vulnerabilities in the installed dependencies (PyPI's data); fails when unreachable.
# amqtt pins websockets and schemathesis pins jsonschema-rs below their latest releases, for
# which PyPI serves no vulnerability data: listed as NOT AUDITED on every run, not failing.
AUDIT_ACCEPT := --accept-unaudited websockets --accept-unaudited jsonschema-rs
audit: $(VENV)/.test-installed
	$(BIN)/python scripts/audit_deps.py $(AUDIT_ACCEPT)

test-all: $(VENV)/.test-installed $(STUBS)
	@scripts/setup-system.sh chromium
	$(BIN)/python -m pytest -q

# The whole fault matrix (quick and long rows; prints the fault table), then any other
# test marked `faults`.
test-faults: $(VENV)/.test-installed
	@scripts/setup-system.sh
	$(BIN)/python -m pytest -q tests/faults
	$(BIN)/python -m pytest -q -m faults --ignore=tests/faults || [ $$? -eq 5 ]

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.test-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Gatehouse needs Python 3.11+")'
	$(PYTHON) -m venv $(VENV) || { [ "$$(id -u)" = 0 ] && apt-get install -y -q python3-venv >/dev/null && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install -q --upgrade pip setuptools

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[demo]'
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[test,demo]'
	touch $@ $(VENV)/.demo-installed

# MicroPython stubs are kept out of the venv: they shadow socket, time and select.
typings/%/.installed: | $(BIN)/python
	$(BIN)/pip install -q --target typings/$* micropython-$*-stubs
	touch $@

clean:
	rm -rf $(VENV) typings .pytest_cache .ruff_cache .mypy_cache build *.egg-info
