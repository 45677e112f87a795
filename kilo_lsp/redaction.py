"""Keeping secrets out of every text the sidecar writes: one function, applied before text is cut.

A key reaches text by paths nobody wrote on purpose: a provider's error body that echoes it, an HTTP
library's message that prints a header, a URL with credentials in it, a log record. Cutting such text
first (to 60 or 500 characters) left a piece of the key that no longer matched it, so redaction must
come first: :func:`safe_text` redacts the whole text, then cuts it. Every path that turns provider or
library errors into text (error responses, ``window/showMessage``, logs on stderr and in the editor)
goes through it.

What is masked:

- every secret the sidecar knows (:func:`remember` is called wherever keys enter: the settings, keys
  pushed by the editor, credentials in a base URL), in the forms an echo gives it (as is, stripped,
  JSON-escaped, percent-encoded), and any run of ``PIECE`` or more characters that is a piece of one
  (a key cut in the middle, or echoed in part);
- credentials by their shape, whoever they belong to: ``Authorization: Bearer …``, ``x-api-key: …``
  (as a header or a JSON member), ``user:password@`` in a URL, and query parameters such as
  ``?api-key=…``, ``&key=…``, ``&token=…``.

Known keys become ``sk-…abcd`` (the last four characters, so a person can tell which key it was);
anything else that is masked becomes ``***``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from typing import Iterable
from urllib.parse import quote

#: A run of this many characters of a known secret is masked wherever it appears.
PIECE = 10
#: Secrets shorter than this are not remembered (they would mask ordinary words).
MIN_SECRET = 8
MASK = "***"

_lock = threading.Lock()
_secrets: set[str] = set()          # every form of every secret, longest first when replacing
_ordered: list[str] = []
_pieces: set[str] = set()           # every PIECE-long run of every secret


def mask_key(key: str | None) -> str:
    """A printable stand-in for a key: ``sk-…abcd`` for long keys, ``set`` for short ones."""
    if not key:
        return "unset"
    if len(key) < 16:
        return "set"
    prefix = key[:3] if key[:3].isalpha() or key.startswith("sk-") else ""
    return f"{prefix}…{key[-4:]}"


def _forms(secret: str) -> set[str]:
    forms = {secret, secret.strip(), json.dumps(secret)[1:-1], quote(secret, safe=""),
             secret.encode("unicode_escape").decode("ascii", "replace")}
    return {f for f in forms if len(f) >= MIN_SECRET}


def remember(*secrets: str | None) -> None:
    """Add secrets to the set every text is scrubbed of (for the life of the process)."""
    new = [s for s in secrets if s and len(s.strip()) >= MIN_SECRET and s not in _secrets]
    if not new:
        return
    with _lock:
        for secret in new:
            for form in _forms(secret):
                if form in _secrets:
                    continue
                _secrets.add(form)
                _pieces.update(form[i:i + PIECE] for i in range(len(form) - PIECE + 1))
        _ordered[:] = sorted(_secrets, key=len, reverse=True)


def known() -> frozenset[str]:
    """The secrets remembered so far (for tests and diagnostics; never print them)."""
    return frozenset(_secrets)


# Credentials by shape. Each pattern keeps what names the credential and masks its value. A header or
# member value is taken for a credential when it is 8 characters or more with a digit in it, so that
# the sidecar's own messages ("apiKey: must not contain whitespace") stay readable.
_VALUE = r"""(?=[^\s"',;&<>]*\d)[^\s"',;&<>]{8,}"""
_SHAPES = re.compile(
    # Authorization / Proxy-Authorization headers (or JSON members), with or without a scheme word
    r"""(?P<auth>(?i:\b(?:proxy-)?authorization)["']?\s*[:=]\s*["']?(?:(?i:bearer|basic|token|digest)\s+)?)"""
    r"""(?P<authv>%s)"""
    # API key headers or members: x-api-key: …, "api_key": "…", x-goog-api-key: …
    r"""|(?P<hdr>(?i:\b(?:x-(?:goog-)?api-key|api[-_]?key|apikey|access[-_]token|client[-_]secret))["']?\s*[:=]\s*["']?)"""
    r"""(?P<hdrv>%s)"""
    # a bare bearer token
    r"""|(?P<bearer>(?i:\bbearer)\s+)(?P<bearerv>[A-Za-z0-9._~+/=-]{8,})"""
    # user:password@ in a URL
    r"""|(?P<userinfo>\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@"'<>]*:)(?P<userinfov>[^@\s/"'<>]+)(?=@)"""
    # secret-looking query parameters
    r"""|(?P<query>[?&;](?i:key|api[-_]?key|apikey|token|access[-_]?token|auth|sig|signature|secret|password|"""
    r"""client[-_]secret)=)(?P<queryv>[^&#\s"'<>]+)""" % (_VALUE, _VALUE))

_RUNS = re.compile(r"[A-Za-z0-9_\-.~+/=]{%d,}" % PIECE)


def _mask_shape(m: re.Match[str]) -> str:
    for name in ("auth", "hdr", "bearer", "userinfo", "query"):
        if m.group(name) is not None:
            value = m.group(name + "v")
            return m.group(name) + (value if value in (MASK, "…") or "…" in value else MASK)
    return m.group(0)


def _mask_pieces(text: str) -> str:
    """Mask each run of key-like characters that holds a piece of a known secret."""
    if not _pieces:
        return text
    out: list[str] = []
    last = 0
    for m in _RUNS.finditer(text):
        run = m.group()
        if any(run[i:i + PIECE] in _pieces for i in range(len(run) - PIECE + 1)):
            out.append(text[last:m.start()])
            out.append(MASK)
            last = m.end()
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` without any secret: those given, those remembered, and credentials by their shape."""
    if not text:
        return text
    extra = [s for s in secrets if s and len(s) >= 6 and s not in _secrets]
    for secret in extra:
        if secret in text:
            text = text.replace(secret, mask_key(secret))
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, mask_key(secret))
    text = _SHAPES.sub(_mask_shape, text)
    return _mask_pieces(text)


def safe_text(text: str, limit: int | None = None, secrets: Iterable[str | None] = ()) -> str:
    """``text`` redacted, then cut to ``limit`` characters (with "…"): the order that leaves no piece
    of a key behind. Very long text is first cut to a bound well above ``limit``, at a separator, so
    that a key straddling that first cut is dropped whole rather than left in part."""
    if limit is not None and len(text) > 8 * limit + 4096:
        text = _cut_at_separator(text[:8 * limit + 4096])
    text = redact(text, secrets)
    if limit is not None and len(text) > limit:
        text = text[:max(0, limit - 1)].rstrip() + "…"
    return text


def _cut_at_separator(text: str) -> str:
    """``text`` without its last, possibly cut, run of key-like characters."""
    m = re.search(r"[A-Za-z0-9_\-.~+/=]*\Z", text)
    return text[:m.start()] if m else text


_URL_QUERY_SECRET = re.compile(
    r"[?&;](?:key|api[-_]?key|apikey|token|access[-_]?token|auth|sig|signature|secret|password|client[-_]secret)"
    r"=([^&#\s]+)", re.I)


def url_secrets(url: str) -> tuple[str, ...]:
    """The credentials a URL carries: the password of ``user:password@`` and secret query values."""
    found: list[str] = []
    m = re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://([^/@\s]*)@", url or "")
    if m and ":" in m.group(1):
        found.append(m.group(1).split(":", 1)[1])
    found += _URL_QUERY_SECRET.findall(url or "")
    return tuple(f for f in found if f)


def mask_url(url: str) -> str:
    """A URL as it may be shown: credentials in it masked."""
    return _SHAPES.sub(_mask_shape, url or "")


def key_problem(key: str) -> str | None:
    """Why a key is refused where it enters (settings, the editor's secret store), or None.

    A key with a line end or another control character (pasted with the key) cannot be sent as a
    header anyway, and the HTTP library's error printed it escaped (``\\n``), where it no longer
    matched the key it was to be masked as; whitespace inside a key is always a paste error."""
    if not key.isprintable() or any(c.isspace() for c in key):
        return ("must not contain whitespace or control characters (a line end or a space pasted with "
                "the key?); it was not used")
    return None


# --------------------------------------------------------------------------- logging

class RedactingFilter(logging.Filter):
    """Every log record redacted before any handler writes it (stderr, the editor's output panel).

    Tracebacks are kept only when the ``kilo_lsp`` logger is at debug level; otherwise a record with
    an exception keeps one line, ``ExceptionType: message``, redacted like the rest."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is shown as its template
            message = str(record.msg)
        if record.exc_info and record.exc_info[1] is not None and not _debug():
            exc = record.exc_info[1]
            message = f"{message}: {type(exc).__name__}: {exc}"
            record.exc_info = None
            record.exc_text = None
            record.stack_info = None
        elif record.exc_info and record.exc_info[1] is not None:
            import traceback
            record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_info = None
        record.msg = redact(message)
        record.args = None
        return True


def _debug() -> bool:
    return logging.getLogger("kilo_lsp").isEnabledFor(logging.DEBUG)


def install_log_filter(handler: logging.Handler) -> None:
    """Make ``handler`` redact (once per handler)."""
    if not any(isinstance(f, RedactingFilter) for f in handler.filters):
        handler.addFilter(RedactingFilter())
