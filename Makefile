# The README's two commands: `make demo` and `make test`. Each sets up .venv on first use
# (idempotent: a stamp per extra set, redone only when pyproject.toml changes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST := $(BIN)/python -m pytest

.PHONY: demo test test-slow lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.demo-stamp: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[jax]"
	touch $@

$(VENV)/.test-stamp: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install -q -e ".[jax,torch,tensorflow,dask,dev]"
	touch $@ $(VENV)/.demo-stamp

demo: $(VENV)/.demo-stamp
	KERAS_BACKEND=jax $(BIN)/kexue demo

# Everything on JAX, then the backend-sensitive tests (marker `backend`) on TensorFlow and
# PyTorch. Exit status 5 (no test selected) is not an error for the backend passes.
test: $(VENV)/.test-stamp
	$(BIN)/ruff check src tests benchmarks
	KERAS_BACKEND=jax $(PYTEST) -m "not slow"
	KERAS_BACKEND=tensorflow $(PYTEST) -m "backend and not slow" || [ $$? -eq 5 ]
	KERAS_BACKEND=torch $(PYTEST) -m "backend and not slow" || [ $$? -eq 5 ]

# Long training, calibration and end-to-end tests (minutes); CI runs them after `make test`.
test-slow: $(VENV)/.test-stamp
	KERAS_BACKEND=jax $(PYTEST) -m slow

lint: $(VENV)/.test-stamp
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) build dist src/*.egg-info
