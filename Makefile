# One command sets up and runs the main job; one sets up and runs the tests.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
REPAIR := $(VENV)/bin/repair
DEMO   ?= demo-out

.PHONY: setup demo test test-unit test-fast lint clean

# Two installs: `make demo` needs only repair and its runtime dependencies (pip install -e .); the tests, lint and CI
# need the dev extra too (pytest, pexpect, ray, tfmot, ruff, mypy, playwright). Sizes measured on Linux x86_64, Python 3.11,
# TF 2.21: runtime 47 packages, 2.3 GB installed (TensorFlow alone 1.9 GB); the dev extra adds 26 packages, 0.66 GB
# (ray 0.24 GB, playwright 0.17 GB; the browser tests use the OS's chromium, never a downloaded one).
# pip is not run quiet: on a fresh machine the download takes minutes and its progress is the only sign of life.
setup: $(VENV)/.installed

$(VENV)/.venv-created:
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	touch $@

$(VENV)/.installed: pyproject.toml | $(VENV)/.venv-created
	@echo "Installing repair with its dev extra into $(VENV): about 73 packages, 2.9 GB installed (TensorFlow 1.9 GB, ray 0.24 GB)."
	$(PY) -m pip install -e '.[dev]'
	touch $@ $(VENV)/.installed-runtime

$(VENV)/.installed-runtime: pyproject.toml | $(VENV)/.venv-created
	@echo "Installing repair into $(VENV) (runtime only, no dev extra): about 47 packages, 2.3 GB installed (TensorFlow 1.9 GB)."
	$(PY) -m pip install -e .
	touch $@

# Build a bundled broken model (Keras 3 saved with tf.saved_model.save: converts, outputs garbage),
# diagnose it, repair it and show the report.
demo: $(VENV)/.installed-runtime
	rm -rf $(DEMO)
	$(PY) -m corpora build keras/keras3_saved_model_save $(DEMO)/broken
	$(REPAIR) diagnose $(DEMO)/broken/saved_model || echo "(diagnose exits 1: it found blocking problems)"
	$(REPAIR) fix $(DEMO)/broken/saved_model --out $(DEMO)/fixed
	@echo; echo "Repaired model and reports in $(DEMO)/fixed: open $(DEMO)/fixed/report.html in a browser to see the change."

test: setup
	$(PY) -m pytest -q --durations=15

test-unit: setup
	$(PY) -m pytest -q tests/unit

test-fast: setup
	$(PY) -m pytest -q -m "not slow"

# ruff (pyproject [tool.ruff]) over everything, mypy (pyproject [tool.mypy]) over repair/ and rewrites/.
lint: setup
	$(PY) -m ruff check repair rewrites corpora tests bench tools
	$(PY) -m mypy

# Figures, not tests: repair fix vs the physical floor, CLI start-up, codemod vs LibCST (bench/results.md).
# BENCH_ARGS passes flags, e.g. make bench BENCH_ARGS='--runs 1 --archs MobileNetV2'.
.PHONY: bench
bench: setup
	$(PY) bench/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(DEMO) .pytest_cache build *.egg-info
