"""The fake provider server (tests/fake_provider.py) in its own process, scripted by the request text.

Running it apart keeps its work off the benchmark client's interpreter. The last user message
chooses the script, so the sidecar and a direct client get the same stream:

    ``perf-ttft``          a short answer at once
    ``perf-relay N``       N one-word text chunks, as fast as the server writes them
    ``perf-wait MS``       a short answer after MS milliseconds (a model thinking)

Prints its base URL on stdout, then serves until stdin closes.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests import fake_provider  # noqa: E402
from tests.fake_provider import FakeProviderServer, Script  # noqa: E402

_CMD = re.compile(r"perf-(ttft|relay|wait)(?: (\d+))?")


def _last_user_text(body: Any) -> str:
    if not isinstance(body, dict):
        return ""
    for msg in reversed(body.get("messages") or []):
        if msg.get("role") == "user":
            content = msg.get("content")
            if isinstance(content, list):
                content = " ".join(part.get("text", "") for part in content if isinstance(part, dict))
            return content or ""
    return ""


def script_for(body: Any) -> Script:
    m = _CMD.search(_last_user_text(body))
    if m is None:
        return Script()
    kind, n = m.group(1), int(m.group(2) or 0)
    if kind == "relay":
        return Script(texts=("tok ",) * n, usage=(12, 0, n))
    if kind == "wait":
        return Script(texts=("Hello", " world"), first_byte_delay=n / 1000)
    return Script(texts=("Hello", " world"))


def main() -> None:
    fake_provider._QuietServer.request_queue_size = 512   # 50 clients connect at once (default backlog 5)
    fake = FakeProviderServer()
    fake.script_for = script_for          # type: ignore[method-assign]
    fake.requests = _Discard()            # keep nothing: long runs would grow it
    # small SSE writes must leave at once, as a real provider's do (no Nagle delay against delayed ACKs)
    fake.httpd.RequestHandlerClass.disable_nagle_algorithm = True
    fake.start()
    print(fake.url(""), flush=True)
    sys.stdin.read()
    fake.stop()


class _Discard(list):
    def append(self, item: Any) -> None:
        pass


if __name__ == "__main__":
    main()
