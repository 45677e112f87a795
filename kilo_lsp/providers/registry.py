"""Known providers, the pool of live provider clients, cool-downs, and local server discovery.

``KNOWN`` is the table of providers kilo-lsp knows by name: API family, default base URL, the
environment variable that holds the key, and whether it is a local server. The configuration
turns it (plus user settings) into :class:`ProviderSpec` objects; :class:`ProviderPool` builds one
provider, with one pooled HTTP client, per spec on first use.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import ssl
import time
from typing import Callable, Iterable, Mapping

import httpx2

from ..files import SettingFileError, read_checked
from .anthropic import AnthropicProvider
from .bodies import ACCEPT_ENCODING, read_body
from .base import Provider, ProviderError, ProviderSpec, Timeouts
from .breaker import Breakers
from .known import KNOWN, LOCAL_DEFAULT_URLS
from .openai_compat import MAX_MODELS_BYTES, HTTPProvider, OpenAICompatProvider

log = logging.getLogger(__name__)


def spec_from_env(name: str, env: Mapping[str, str] | None = None, *, api_key: str | None = None,
                  base_url: str | None = None) -> ProviderSpec:
    """The spec of a known provider, its key taken from ``api_key`` or its environment variable."""
    known = KNOWN[name]
    env = os.environ if env is None else env
    key = api_key if api_key is not None else (env.get(known.key_env) if known.key_env else None)
    return ProviderSpec(name=name, kind=known.kind, base_url=base_url or known.base_url, api_key=key or None,
                        local=known.local, extra_headers=dict(known.extra_headers))


#: The largest CA bundle read (a full public CA store is about 250 KB).
MAX_CA_BUNDLE_BYTES = 4 * 1024 * 1024
#: Seconds the TLS context may take to build (it reads files) off the event loop.
TLS_SETUP_TIMEOUT = 10.0


def make_ssl_context(ca_bundle: str | None = None, *, trust_env: bool = True) -> ssl.SSLContext:
    """The TLS context every provider of a pool shares: httpx2's default trust (the system's CA
    store, or SSL_CERT_FILE / SSL_CERT_DIR when ``trust_env``) *plus* the CAs of ``ca_bundle``, if
    any (a corporate proxy's CA), read only if it is a regular file of at most MAX_CA_BUNDLE_BYTES
    (``kilo_lsp/files.py``). Built once per pool, in a worker thread (``ProviderPool.prepare``):
    loading the CA store takes about 20 ms, and a file can take longer."""
    ctx = httpx2.create_ssl_context(trust_env=trust_env)
    if ca_bundle:
        pem = read_checked(ca_bundle, "network.caBundle", MAX_CA_BUNDLE_BYTES)
        try:
            ctx.load_verify_locations(cadata=pem.decode("ascii"))
        except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
            raise SettingFileError(f"network.caBundle {ca_bundle}: not a PEM bundle of certificates "
                                   f"({type(exc).__name__})") from None
    return ctx


def provider_for(spec: ProviderSpec, **kw: object) -> HTTPProvider:
    cls = AnthropicProvider if spec.kind == "anthropic" else OpenAICompatProvider
    return cls(spec, **kw)  # type: ignore[arg-type]


class ProviderPool:
    """Live providers by name, built on first use, with cool-downs after failures, per provider and
    per route (``breaker.py``: counted per incident, with a trial request when a cool-down ends or
    nothing else can answer). New credentials end a provider's cool-down."""

    def __init__(self, specs: Iterable[ProviderSpec] = (), *, timeouts: Timeouts | None = None,
                 ca_bundle: str | None = None, trust_env: bool = True, cooldown_base: float = 2.0,
                 cooldown_cap: float = 120.0, retry_after_cap: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._specs: dict[str, ProviderSpec] = {s.name: s for s in specs}
        self._providers: dict[str, Provider] = {}
        self.breakers = Breakers(base=cooldown_base, cap=cooldown_cap, retry_after_cap=retry_after_cap, clock=clock)
        self.timeouts = timeouts or Timeouts()
        self.ca_bundle = ca_bundle
        self.trust_env = trust_env
        self.cooldown_base = cooldown_base
        self.cooldown_cap = cooldown_cap
        self.retry_after_cap = retry_after_cap
        self._clock = clock
        self._verify: ssl.SSLContext | None = None

    # ----------------------------------------------------------------- specs and providers

    @property
    def names(self) -> list[str]:
        return list(self._specs)

    def spec(self, name: str) -> ProviderSpec | None:
        return self._specs.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    async def prepare(self, timeout: float = TLS_SETUP_TIMEOUT) -> None:
        """Build the TLS context off the event loop (it reads the CA store and ``ca_bundle``);
        raises SettingFileError when it cannot be built in ``timeout`` seconds or at all."""
        if self._verify is not None:
            return
        try:
            self._verify = await asyncio.wait_for(
                asyncio.to_thread(make_ssl_context, self.ca_bundle, trust_env=self.trust_env), timeout)
        except TimeoutError:
            raise SettingFileError(f"the TLS settings (network.caBundle, SSL_CERT_FILE) were not read within "
                                   f"{timeout:g} s") from None
        except ssl.SSLError as exc:
            raise SettingFileError(f"the TLS settings (SSL_CERT_FILE) cannot be used: {exc}") from None

    def _verify_setting(self) -> ssl.SSLContext:
        if self._verify is None:      # not prepared (direct use of a pool): built here
            self._verify = make_ssl_context(self.ca_bundle, trust_env=self.trust_env)
        return self._verify

    def get(self, name: str) -> Provider:
        """The provider named ``name``, built (with its own HTTP client) on first use."""
        provider = self._providers.get(name)
        if provider is None:
            spec = self._specs.get(name)
            if spec is None:
                raise ProviderError("client", f"no provider named {name!r} is configured", provider=name,
                                    retryable=True)
            provider = provider_for(spec, timeouts=self.timeouts, verify=self._verify_setting(),
                                    trust_env=self.trust_env)
            self._providers[name] = provider
        return provider

    async def set_spec(self, spec: ProviderSpec) -> None:
        """Add or replace a provider (new credentials): the old client is closed, the cool-down ends."""
        old = self._providers.pop(spec.name, None)
        self._specs[spec.name] = spec
        self.breakers.forget(spec.name)
        if old is not None:
            await old.aclose()

    async def remove(self, name: str) -> None:
        self._specs.pop(name, None)
        self.breakers.forget(name)
        old = self._providers.pop(name, None)
        if old is not None:
            await old.aclose()

    async def aclose_all(self) -> None:
        providers, self._providers = list(self._providers.values()), {}
        for provider in providers:
            try:
                await provider.aclose()
            except Exception:  # noqa: BLE001 - closing is best effort
                log.debug("closing %s failed", provider.name, exc_info=True)

    # ----------------------------------------------------------------- cool-down

    def now(self) -> float:
        """The breakers' clock: when a request starts, for ``mark_failure(started_at=...)``."""
        return self.breakers.now()

    def mark_failure(self, name: str, error: ProviderError | None = None, started_at: float | None = None) -> float:
        """Record a failure; returns the cool-down in seconds (0 when this failure does not cool)."""
        return self.breakers.failure(name, error, started_at)

    def mark_success(self, name: str) -> None:
        self.breakers.success(name)

    def cooldown_remaining(self, name: str) -> float:
        return self.breakers.remaining(name)

    def is_cooling(self, name: str) -> bool:
        return self.breakers.cooling(name)

    def cooling(self) -> dict[str, dict[str, object]]:
        """The providers and routes cooling now: name -> {seconds, reason, failures}."""
        return self.breakers.report()


async def discover_local(urls: Iterable[str] = LOCAL_DEFAULT_URLS, *, timeout: float = 0.3) -> dict[str, list[str]]:
    """Ask each local OpenAI-compatible server (base URL ending in /v1) for its models, all at
    once, with a short timeout. Returns base_url -> model ids for the servers that answered;
    never raises. No key is sent and no proxy is used."""
    urls = list(dict.fromkeys(u.rstrip("/") for u in urls))
    if not urls:
        return {}

    async def one(client: httpx2.AsyncClient, base: str) -> tuple[str, list[str] | None]:
        try:
            async with asyncio.timeout(timeout), client.stream("GET", base + "/models") as response:
                if response.status_code != 200:
                    return base, None
                body = await read_body(response, MAX_MODELS_BYTES, "a local server's model list")
            obj = json.loads(body)
            items = obj.get("data") if isinstance(obj, dict) else None
            if not isinstance(items, list):
                return base, None
            return base, [str(m["id"]) for m in items if isinstance(m, dict) and m.get("id")]
        except Exception:  # noqa: BLE001 - a server that is not there is the normal case
            return base, None

    try:
        async with httpx2.AsyncClient(timeout=timeout, trust_env=False, follow_redirects=False,
                                      headers={"accept-encoding": ACCEPT_ENCODING}) as client:
            results = await asyncio.gather(*(one(client, u) for u in urls))
    except Exception:  # noqa: BLE001
        log.debug("local discovery failed", exc_info=True)
        return {}
    return {base: models for base, models in results if models is not None}
