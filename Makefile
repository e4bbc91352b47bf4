# Platedesk: the two commands are `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint check pytest screenshots bench clean-demo venv model

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

## Start a seeded demo hub on loopback and open the workstation signed in to it.
demo: $(STAMP)
	$(BIN)/python -m app.demo $(DEMO_ARGS)

## Reseed the demo hub from scratch on the next `make demo`.
clean-demo:
	rm -rf demo-data

## The whole quality gate: lint, format, types, layers, then every test.
test: $(STAMP) lint pytest

lint: $(STAMP)
	$(BIN)/ruff check app hub tests bench
	$(BIN)/ruff format --check app hub tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# Every core, one test file per worker (a file's module-scoped hub is started once).
PYTEST_ARGS ?= -n auto --dist loadfile

pytest: $(STAMP)
	QT_QPA_PLATFORM=offscreen PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring \
		$(BIN)/pytest $(PYTEST_ARGS)

## Render the main screens of a demo session to docs/screenshots/.
screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m app.demo --screenshots docs/screenshots

## Benchmarks: each prints its figures as JSON.
bench: $(STAMP)
	for script in bench/bench_*.py; do PYTHONPATH=. PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring $(BIN)/python $$script || exit 1; done

## Train the plate reader from scratch (CPU, a few hours; resumable) and write models/plate-reader.onnx.
model: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[train]'
	PYTHONPATH=. $(BIN)/python -m models.plates.train --seed 1 --steps 20000 $(MODEL_ARGS)
	PYTHONPATH=. $(BIN)/python -m models.plates.heldout
