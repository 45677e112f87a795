import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@pytest.fixture
def fake_models_server():
    """A tiny OpenAI-compatible /v1/models endpoint on 127.0.0.1, like a local LM Studio."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"object": "list", "data": [{"id": "tiny-local", "object": "model"}]}).encode()
            self.send_response(200 if self.path == "/v1/models" else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    httpd.shutdown()
    httpd.server_close()


#: Tests of the task-type and difficulty models the sidecar no longer ships (their modules,
#: kilo_lsp/classify/task_type.py and learned.py, are gone). The same properties are checked on the
#: editor classifier's blocks in test_editor_classifier.py; these are skipped until they leave their file.
RETIRED_MODEL_TESTS = frozenset({
    "test_route_fast_paths.py::test_cached_character_ngrams_equal_the_filtered_ngrams_of_the_text",
    "test_route_fast_paths.py::test_task_type_block_scores_equal_the_term_by_term_reference",
    "test_route_fast_paths.py::test_difficulty_block_scores_equal_the_sums_of_the_scaled_rows",
})


def pytest_collection_modifyitems(items):
    for item in items:
        if f"{item.path.name}::{item.name}" in RETIRED_MODEL_TESTS:
            item.add_marker(pytest.mark.skip(reason="tests a model the sidecar no longer ships"))
