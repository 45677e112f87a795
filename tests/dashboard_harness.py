"""Helpers of the dashboard tests: plain HTTP to the dashboard, and a home with a seeded ledger."""

from __future__ import annotations

import http.client
import shutil
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from seed_ledger import SEED_KEYS, seed

_SEEDED: dict[int, Path] = {}


def seeded_home(tmp_path: Path, days: int = 21) -> Path:
    """A home whose data directory holds a seeded ledger (seeded once per run and copied)."""
    if days not in _SEEDED:
        base = Path(tmp_path.parent) / f"seeded-ledger-{days}"
        base.mkdir(exist_ok=True)
        seed(base / "ledger.sqlite3", days=days, config_dir=base)
        _SEEDED[days] = base / "ledger.sqlite3"
    home = tmp_path / "home"
    (home / "data" / "kilo-lsp").mkdir(parents=True)
    (home / "config").mkdir()
    shutil.copy(_SEEDED[days], home / "data" / "kilo-lsp" / "ledger.sqlite3")
    return home


def ledger_path(home: Path) -> Path:
    return home / "data" / "kilo-lsp" / "ledger.sqlite3"


def config_path(home: Path) -> Path:
    return home / "config" / "kilo-lsp" / "config.toml"


def sidecar_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The seed's keys (so the same models are callable), for lsp_harness.sidecar's env."""
    return {**SEED_KEYS, **(extra or {})}


def fetch(url: str, method: str = "GET", form: dict[str, str] | None = None, headers: dict[str, str] | None = None,
          host: str | None = None) -> tuple[int, dict[str, str], str]:
    """One request, whatever its status: (status, headers with lower-case names, body)."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    body = urlencode(form).encode() if form is not None else None
    h = dict(headers or {})
    if body is not None:
        h.setdefault("Content-Type", "application/x-www-form-urlencoded")
    if host is not None:
        conn.putrequest(method, parts.path + ("?" + parts.query if parts.query else ""), skip_host=True)
        conn.putheader("Host", host)
        for k, v in h.items():
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
    else:
        conn.request(method, parts.path + ("?" + parts.query if parts.query else ""), body=body, headers=h)
    resp = conn.getresponse()
    data = resp.read().decode("utf-8", "replace")
    out = (resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    conn.close()
    return out


def origin(url: str) -> str:
    p = urlsplit(url)
    return f"{p.scheme}://{p.netloc}"


def with_token(url: str, path: str, **query: str) -> str:
    """Another page of the dashboard whose URL is ``url`` (its token kept)."""
    p = urlsplit(url)
    token = dict(x.split("=", 1) for x in p.query.split("&") if "=" in x)["token"]
    return f"{p.scheme}://{p.netloc}{path}?" + urlencode({**query, "token": token})


