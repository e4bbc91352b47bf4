# Platedesk: the two commands are `make demo` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint check pytest screenshots bench clean-demo venv model package

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
## With PACKAGE=1 it also builds the bundle first and runs its smoke test (tests/packaging).
test: $(STAMP) lint $(if $(filter 1,$(PACKAGE)),package) pytest

lint: $(STAMP)
	$(BIN)/ruff check app hub tests bench models
	$(BIN)/ruff format --check app hub tests bench models
	$(BIN)/mypy
	$(BIN)/lint-imports

# Every core, one test file per worker (a file's module-scoped hub is started once).
PYTEST_ARGS ?= -n auto --dist loadfile

pytest: $(STAMP)
	PACKAGE=$(PACKAGE) QT_QPA_PLATFORM=offscreen \
		PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring $(BIN)/pytest $(PYTEST_ARGS)

## The workstation as a one-folder bundle: dist/platedesk/ (PyInstaller; docs/packaging.md).
## Its OpenCV is a slim build (core, imgproc, imgcodecs), made once from the wheel's source
## and cached under build/opencv-slim (packaging/build_opencv_slim.py: the first time a long
## build, 85 minutes on 2 busy cores; it resumes if interrupted); the venv keeps the PyPI wheel.
package: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[package]'
	$(BIN)/python packaging/opencv_headless.py --repair  # the venv's cv2: opencv-python-headless
	mkdir -p build
	nice -n 10 $(BIN)/python packaging/build_opencv_slim.py > build/opencv-slim.site
	site="$$(cat build/opencv-slim.site)" && \
	QT_QPA_PLATFORM=offscreen PYTHONUSERBASE="$${site%/lib/*}" PYTHONPATH="$$site:." \
		$(BIN)/pyinstaller --noconfirm --clean --log-level WARN \
		--distpath dist --workpath build/pyinstaller packaging/platedesk.spec
	@du -sh dist/platedesk

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
