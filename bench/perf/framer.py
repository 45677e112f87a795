"""A raw Content-Length stdio client: fast enough that the client does not dominate what it measures.

Synchronous on purpose: one ``write`` per message and a buffered read loop. Server-to-client
requests (workspace/configuration, client/registerCapability, ...) are answered with ``null``s and
notifications are kept (with their arrival time) so a caller can look at them.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any, Callable

_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_loads = json.loads


class Client:
    def __init__(self, argv: list[str], env: dict[str, str] | None = None, cwd: str | None = None):
        self.t_spawn = time.perf_counter()
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, env=env, cwd=cwd, bufsize=0)
        self._out = self.proc.stdin
        self._in = self.proc.stdout
        self._fd = self._in.fileno()
        self._buf = b""
        self._pos = 0
        self._next_id = 0
        self.notifications: list[tuple[float, str, Any]] = []
        self.keep_notifications = True
        self.on_notification: Callable[[float, str, Any], None] | None = None

    @classmethod
    def attach(cls, proc: subprocess.Popen) -> "Client":
        """A client for a process started elsewhere (with stdin and stdout pipes)."""
        c = cls.__new__(cls)
        c.t_spawn = time.perf_counter()
        c.proc, c._out, c._in = proc, proc.stdin, proc.stdout
        c._fd, c._buf, c._pos, c._next_id = proc.stdout.fileno(), b"", 0, 0
        c.notifications, c.keep_notifications, c.on_notification = [], True, None
        return c

    # -- writing ---------------------------------------------------------------------------
    def _send(self, msg: dict[str, Any]) -> None:
        body = _dumps(msg).encode()
        self._out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def send_request(self, method: str, params: Any = None) -> int:
        self._next_id += 1
        self._send({"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params})
        return self._next_id

    def notify(self, method: str, params: Any = None) -> None:
        self._send({"jsonrpc": "2.0", "method": method, "params": params})

    def send_raw(self, data: bytes) -> None:
        """Pre-framed bytes (several messages at once), for pipelined notifications."""
        self._out.write(data)

    # -- reading ---------------------------------------------------------------------------
    def _read_message(self) -> dict[str, Any]:
        buf, pos = self._buf, self._pos
        while True:
            head_end = buf.find(b"\r\n\r\n", pos)
            if head_end >= 0:
                length = -1
                for line in buf[pos:head_end].split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length < 0:
                    raise ValueError("a message without Content-Length")
                start = head_end + 4
                if len(buf) - start >= length:
                    self._pos = start + length
                    return _loads(buf[start:start + length])
            chunk = os.read(self._fd, 1 << 20)
            if not chunk:
                raise EOFError("server closed its stdout")
            buf = self._buf = buf[pos:] + chunk     # the unread tail only: no quadratic copying
            pos = self._pos = 0

    def read(self) -> dict[str, Any]:
        """The next message; server requests are answered here and returned too."""
        msg = self._read_message()
        if "method" in msg:
            if "id" in msg:
                result: Any = None
                if msg["method"] == "workspace/configuration":
                    result = [None] * len((msg.get("params") or {}).get("items", []))
                self._send({"jsonrpc": "2.0", "id": msg["id"], "result": result})
            else:
                now = time.perf_counter()
                if self.on_notification is not None:
                    self.on_notification(now, msg["method"], msg.get("params"))
                if self.keep_notifications:
                    self.notifications.append((now, msg["method"], msg.get("params")))
        return msg

    def wait(self, rid: int) -> Any:
        while True:
            msg = self.read()
            if msg.get("id") == rid and "method" not in msg:
                if "error" in msg:
                    raise RuntimeError(f"request {rid} failed: {msg['error']}")
                return msg.get("result")

    def call(self, method: str, params: Any = None) -> Any:
        return self.wait(self.send_request(method, params))

    # -- lifecycle -------------------------------------------------------------------------
    def initialize(self, root_uri: str | None = None, options: Any = None) -> Any:
        result = self.call("initialize", {
            "processId": os.getpid(), "rootUri": root_uri, "initializationOptions": options,
            "capabilities": {"workspace": {"configuration": True},
                             "textDocument": {"synchronization": {"dynamicRegistration": False}}},
            "clientInfo": {"name": "kilo-perf", "version": "1"},
        })
        self.notify("initialized", {})
        return result

    def close(self) -> None:
        try:
            self.call("shutdown")
            self.notify("exit")
            self.proc.wait(timeout=5)
        except Exception:
            self.proc.kill()
            self.proc.wait()

    def cpu_seconds(self) -> float:
        """User and system CPU time of the server process so far, all its threads."""
        with open(f"/proc/{self.proc.pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_kb(self) -> int:
        with open(f"/proc/{self.proc.pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


def frame(method: str, params: Any) -> bytes:
    body = _dumps({"jsonrpc": "2.0", "method": method, "params": params}).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body
