# Two entry points (see README): `make demo` and `make test`. Each sets up what it needs.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
OUT ?= out/demo

.PHONY: setup system-deps demo test lint calibrate notebooks clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[ml,dev]"
	touch $@

# bubblewrap is the sandbox; install it when missing and we may (root or sudo).
system-deps:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq bubblewrap; \
	  elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo apt-get install -y -qq bubblewrap; \
	  else echo "install bubblewrap (bwrap) to grade in a sandbox"; fi; }

setup: $(VENV)/.installed system-deps

demo: setup
	$(PY) -m proctor grade samples/* --out $(OUT)
	@echo "Gradebook: $(OUT)/index.html; reports: $$(ls $(OUT)/*/report.html | tr '\n' ' ')"

test: setup
	$(PY) -m ruff check src tests benchmarks scripts exercises graders reference_solutions
	$(PY) -m proctor notebooks --check
	$(PY) -m proctor calibrate --strict --jobs 2 --decide-only
	$(PY) -m pytest -q --durations=25 tests

calibrate: setup
	$(PY) -m proctor calibrate --strict --jobs 2

notebooks: setup
	$(PY) -m proctor notebooks

clean:
	rm -rf $(VENV) out .cache
