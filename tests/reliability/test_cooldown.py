"""No lockouts: one blip must not lock a provider out.

Failures of one incident (requests that were in flight together) count once; a stream that breaks
cools that route (the model at that provider), not the provider; a provider cooling down gets a trial
request when nothing else can answer, instead of refusing every request until its cool-down ends. A
Retry-After is still honoured: no trial before it.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from fake_provider import FakeProviderServer, Script
from rawlsp import RawSidecar
from results import record

KEY = "sk-or-v1-" "cool0000000000000000000000000000KEY"
# models reached through the one provider (openrouter, the fake): their ids there
M1, M2, M3, M4 = "gpt-5-mini", "gemini-3-flash", "minimax-m3", "glm-4-7"
AT = {M1: "openai/gpt-5-mini", M2: "google/gemini-3-flash-preview", M3: "minimax/minimax-m3", M4: "z-ai/glm-4.7"}
BROKEN = Script(texts=("one ", "two ", "three ", "four"), disconnect_after=1, first_byte_delay=0.5)
figures: dict = {}


@pytest.fixture(scope="module", autouse=True)
def keep_figures():
    yield
    record("cooldown", figures)


@pytest.fixture(scope="module")
def fake():
    server = FakeProviderServer().start()
    yield server
    server.stop()


def start(home, fake) -> RawSidecar:
    cfg = home / "config" / "kilo-lsp" / "config.toml"
    cfg.parent.mkdir(parents=True, exist_ok=True)
    cfg.write_text("[network]\nconnect_timeout = 2.0\nfirst_token_timeout = 3.0\nidle_timeout = 3.0\n")
    lsp = RawSidecar(home, env={"OPENROUTER_API_KEY": KEY, "KILO_OPENROUTER_BASE_URL": fake.url("/v1")})
    lsp.initialize()
    return lsp


def complete(lsp: RawSidecar, model: str, n: int = 0) -> dict:
    return lsp.request("kilo/complete", {"text": f"rename a to b ({model} {n} {time.monotonic()})", "pin": model,
                                         "maxTokens": 16, "conversationId": f"{model}-{n}"}, timeout=30)


def at_once(lsp: RawSidecar, models: list[str]) -> list[dict]:
    with ThreadPoolExecutor(len(models)) as pool:
        return list(pool.map(lambda im: complete(lsp, im[1], im[0]), enumerate(models)))


def answered_by(msg: dict, model: str) -> bool:
    res = msg.get("result")
    return res is not None and res["model"] == model and res["error"] is None


def test_broken_streams_cool_the_route_once_not_the_provider(tmp_path, fake):
    fake.reset()
    lsp = start(tmp_path, fake)
    try:
        fake.on(AT[M1], BROKEN)
        broken = at_once(lsp, [M1] * 6)                    # six streams break together
        assert all(m["result"]["error"]["kind"] == "connect" for m in broken), broken
        other = complete(lsp, M2)                          # another model, same provider, at once
        fake.on(AT[M1], Script())
        time.sleep(2.5)                                    # one incident: the first cool-down step (2 s)
        same = complete(lsp, M1, 99)
    finally:
        lsp.close()
    figures["broken streams"] = {"other model at once": answered_by(other, M2),
                                 "same model after 2.5 s": answered_by(same, M1)}
    assert answered_by(other, M2), f"one broken route refused the whole provider: {other}"
    assert answered_by(same, M1), f"six streams of one incident cooled the route for long: {same}"


def test_failures_before_the_first_token_of_one_incident_count_once(tmp_path, fake):
    fake.reset()
    lsp = start(tmp_path, fake)
    try:
        fake.on(AT[M1], Script(status=503, first_byte_delay=0.3))
        burst = at_once(lsp, [M1] * 6)                     # each fails over to another model
        assert all("result" in m for m in burst), burst
        fake.on(AT[M1], Script())
        time.sleep(2.5)
        again = complete(lsp, M1, 99)
    finally:
        lsp.close()
    figures["503 burst, then the same model after 2.5 s"] = answered_by(again, M1)
    assert answered_by(again, M1), f"one incident counted six times: {again['result']['attempts'] if 'result' in again else again}"


def test_a_cooled_provider_gets_a_trial_instead_of_a_blind_wait(tmp_path, fake):
    """A refused key cools the whole provider for two minutes; when it is the only provider, the next
    request is a trial, which finds the provider healthy again and closes the cool-down."""
    fake.reset()
    lsp = start(tmp_path, fake)
    try:
        fake.enqueue(*[Script(status=401)] * 4)
        first = complete(lsp, M1, 0)
        assert first["error"]["data"]["code"] == "all_failed"
        fake.reset()                                       # the provider is healthy again
        started = time.monotonic()
        trial = complete(lsp, M1, 1)
        took = time.monotonic() - started
        after = [complete(lsp, m, 2) for m in (M1, M2)]
    finally:
        lsp.close()
    figures["trial after an auth cool-down"] = {"answered": answered_by(trial, M1), "seconds": round(took, 2)}
    assert answered_by(trial, M1), f"refused during the cool-down instead of a trial: {trial}"
    assert answered_by(after[0], M1) and answered_by(after[1], M2)


def test_retry_after_is_honoured_without_a_trial(tmp_path, fake):
    fake.reset()
    lsp = start(tmp_path, fake)
    try:
        fake.enqueue(*[Script(status=429, headers={"Retry-After": "30"})] * 4)
        complete(lsp, M1, 0)
        fake.reset()
        msg = complete(lsp, M1, 1)
        calls = len(fake.requests)
    finally:
        lsp.close()
    assert "error" in msg and msg["error"]["data"]["retryAfter"] > 20, msg
    assert calls == 0, "the provider asked for 30 s and was called within them"


def test_healthy_requests_under_mixed_faults(tmp_path, fake):
    """Ten rounds, each: three streams of one model break mid-stream, a request to another model gets
    a 503, and nine healthy requests to two more models go at the same time. Healthy requests must
    be answered (by their model, or by another through failover), never refused."""
    fake.reset()
    lsp = start(tmp_path, fake)
    refused = answered = own = 0
    try:
        fake.on(AT[M1], BROKEN)
        fake.on(AT[M4], Script(status=503))
        for _ in range(10):
            batch = [M1, M1, M1, M4] + [M2, M3] * 4 + [M2]
            out = at_once(lsp, batch)
            for model, msg in zip(batch[4:], out[4:]):
                if "result" in msg:
                    answered += 1
                    own += answered_by(msg, model)
                else:
                    refused += 1
            time.sleep(0.3)
    finally:
        lsp.close()
    figures["mixed faults"] = {"healthy": answered + refused, "refused": refused, "answered by their own model": own}
    assert refused == 0, f"{refused} of {answered + refused} healthy requests refused"
    assert own == answered
