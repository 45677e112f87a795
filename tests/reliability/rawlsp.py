"""A raw Content-Length framer around the real sidecar process, for fast and hostile tests.

pytest-lsp's client validates what it sends, so it cannot send a wrong type, a broken frame or
binary noise. This one writes bytes as given and reads every frame the sidecar writes, on a
background thread, so a test can send hundreds of requests to one long-lived process, check that
each gets its answer in time, and measure the process's CPU time and memory from /proc.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from lsp_harness import isolated_env  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def frame(obj: Any) -> bytes:
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


class RawSidecar:
    """One sidecar process driven over stdio with raw frames.

    ``request`` returns the response dict (``result`` or ``error``), or raises TimeoutError.
    Server-to-client requests (``workspace/configuration``, registrations) are answered with
    ``configuration`` / null so the server never waits on us.
    """

    def __init__(self, home: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ("--stdio",),
                 cwd: Path | None = None):
        self.home = home
        self.proc = subprocess.Popen([sys.executable, "-m", "kilo_lsp", *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=isolated_env(home, env), cwd=str(cwd or home))
        self.pid = self.proc.pid
        self.stdout_bytes = bytearray()          # everything the sidecar wrote on stdout
        self.stderr_bytes = bytearray()
        self.frames: list[dict[str, Any]] = []   # every message received, in order
        self.bad_frames: list[bytes] = []        # stdout data that was not a well-formed frame
        self.configuration: list[Any] | None = None
        self._responses: dict[Any, queue.Queue] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._ids = itertools.count(1)
        self.closed = threading.Event()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # ------------------------------------------------------------------ reading
    def _read_stderr(self) -> None:
        for chunk in iter(lambda: self.proc.stderr.read1(65536), b""):
            self.stderr_bytes.extend(chunk)

    def _read_stdout(self) -> None:
        out = self.proc.stdout
        try:
            while True:
                headers: dict[str, str] = {}
                while True:
                    line = out.readline()
                    if not line:
                        return
                    self.stdout_bytes.extend(line)
                    if line in (b"\r\n", b"\n"):
                        break
                    name, sep, value = line.decode("latin-1").partition(":")
                    if not sep:
                        self.bad_frames.append(line)
                        continue
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "-1"))
                if length < 0:
                    self.bad_frames.append(repr(headers).encode())
                    continue
                body = out.read(length)
                self.stdout_bytes.extend(body)
                try:
                    msg = json.loads(body)
                except ValueError:
                    self.bad_frames.append(body)
                    continue
                self._dispatch(msg)
        finally:
            self.closed.set()

    def _dispatch(self, msg: dict[str, Any]) -> None:
        with self._lock:
            self.frames.append(msg)
        if "method" in msg and "id" in msg:        # a request from the server
            result = None
            if msg["method"] == "workspace/configuration":
                items = (msg.get("params") or {}).get("items") or []
                result = self.configuration if self.configuration is not None else [None] * len(items)
            self.write(frame({"jsonrpc": "2.0", "id": msg["id"], "result": result}))
            return
        if "id" in msg and "method" not in msg:
            with self._lock:
                q = self._responses.get(msg["id"])
            if q is not None:
                q.put(msg)

    # ------------------------------------------------------------------ writing
    def write(self, data: bytes) -> None:
        with self._write_lock:
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, ValueError, OSError):
                pass

    def send(self, method: str, params: Any = None, *, msg_id: Any = None, omit_params: bool = False) -> Any:
        """Send a request without waiting; returns its id (use ``wait``)."""
        msg_id = next(self._ids) if msg_id is None else msg_id
        with self._lock:
            self._responses[msg_id] = queue.Queue()
        msg: dict[str, Any] = {"jsonrpc": "2.0", "id": msg_id, "method": method}
        if not omit_params:
            msg["params"] = params
        self.write(frame(msg))
        return msg_id

    def wait(self, msg_id: Any, timeout: float = 5.0) -> dict[str, Any]:
        with self._lock:
            q = self._responses[msg_id]
        try:
            msg = q.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer to request {msg_id!r} within {timeout} s") from None
        with self._lock:
            self._responses.pop(msg_id, None)
        return msg

    def request(self, method: str, params: Any = None, timeout: float = 5.0, **kw: Any) -> dict[str, Any]:
        return self.wait(self.send(method, params, **kw), timeout)

    def notify(self, method: str, params: Any = None) -> None:
        self.write(frame({"jsonrpc": "2.0", "method": method, "params": params}))

    def initialize(self, capabilities: dict[str, Any] | None = None, init_options: Any = None,
                   folders: list[str] | None = None, timeout: float = 30.0) -> dict[str, Any]:
        params: dict[str, Any] = {
            "processId": os.getpid(), "capabilities": capabilities or {},
            "clientInfo": {"name": "raw-framer", "version": "1"},
            "rootUri": folders[0] if folders else None,
            "workspaceFolders": [{"uri": u, "name": u.rsplit("/", 1)[-1]} for u in folders] if folders else None,
        }
        if init_options is not None:
            params["initializationOptions"] = init_options
        answer = self.request("initialize", params, timeout=timeout)
        self.notify("initialized", {})
        return answer

    def shutdown(self, timeout: float = 10.0) -> int:
        """shutdown + exit; returns the exit code (kills the process if it does not go)."""
        try:
            self.request("shutdown", None, timeout=timeout)
        except TimeoutError:
            pass
        self.notify("exit")
        return self.wait_exit(timeout)

    def wait_exit(self, timeout: float) -> int:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.shutdown(5)
        except Exception:
            self.kill()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except Exception:
                pass

    # ------------------------------------------------------------------ observing
    def notifications(self, method: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m.get("params") for m in self.frames if m.get("method") == method and "id" not in m]

    def messages_text(self) -> str:
        """Everything the user could see: showMessage and logMessage texts."""
        return "\n".join(str((p or {}).get("message", "")) for method in ("window/showMessage", "window/logMessage")
                         for p in self.notifications(method))

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (Linux /proc)."""
        with open(f"/proc/{self.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK

    def rss_bytes(self) -> int:
        with open(f"/proc/{self.pid}/statm") as fh:
            return int(fh.read().split()[1]) * PAGE

    def peak_rss_bytes(self) -> int:
        """The most memory the process has held so far (VmHWM, Linux /proc)."""
        with open(f"/proc/{self.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return 0

    def alive(self) -> bool:
        return self.proc.poll() is None


def wait_until(predicate, timeout: float, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
