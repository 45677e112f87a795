"""One honest end-to-end path: a real llama.cpp server (xllamacpp + SmolLM2-135M-Instruct) on
127.0.0.1, reached through the OpenAI-compatible provider, local discovery and the pool."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from kilo_lsp.providers.base import ChatMessage, ChatRequest, ProviderSpec, Timeouts
from kilo_lsp.providers.registry import ProviderPool, discover_local

try:
    from bench.local_llm import ALIAS, unavailable_reason
except ImportError:  # the repository root is not on sys.path under plain `pytest`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bench.local_llm import ALIAS, unavailable_reason

REASON = unavailable_reason()
pytestmark = pytest.mark.skipif(REASON is not None, reason=f"real local LLM not available: {REASON}")


try:
    from tests.fake_provider import local_llm_url  # noqa: F401  (the session's real local server)
except ImportError:
    from fake_provider import local_llm_url  # type: ignore[no-redef]  # noqa: F401


@pytest.mark.asyncio
async def test_real_local_model_streams_an_answer_with_real_usage(local_llm_url: str) -> None:
    found = await discover_local([local_llm_url], timeout=2.0)    # generous: the CPU may be busy
    assert found == {local_llm_url: [ALIAS]}
    pool = ProviderPool([ProviderSpec("local", "openai", local_llm_url, local=True)],
                        timeouts=Timeouts(connect=2, first_byte=20, idle=20))
    provider = pool.get("local")
    req = ChatRequest(ALIAS, [ChatMessage("user", "What is 2+2? Answer with a number only.")],
                      system="You are a helpful assistant.", max_tokens=12, temperature=0)
    t0 = time.perf_counter()
    ttft = None
    text = []
    events = []
    async for ev in provider.stream(req):
        events.append(ev)
        if ev.type == "text":
            ttft = ttft or time.perf_counter() - t0
            text.append(ev.text)
    total = time.perf_counter() - t0
    await pool.aclose_all()
    answer = "".join(text)
    usage = events[-2].usage
    assert answer.strip(), "the model said nothing"
    assert usage is not None and not usage.estimated                   # the server's own counts
    assert 10 < usage.input_tokens < 200 and 1 <= usage.output_tokens <= 12
    assert events[-1].type == "finish" and events[-1].finish_reason in ("stop", "length")
    print(f"\nlocal answer {answer!r}: ttft {ttft * 1000:.0f} ms, total {total * 1000:.0f} ms, {usage}")
