"""Typed, defaulted settings, merged from every source, with where each value came from.

Sources, lowest first: built-in defaults, the user config file (TOML), environment variables,
``initializationOptions``, the client's global settings (``workspace/didChangeConfiguration`` or
``workspace/configuration`` without a scope) and the per-folder settings of a workspace folder.

Credentials and the hosts they go to (``providers.*``) are taken only from user-level sources: the
defaults, the user config file, the environment and keys the editor pushes from its secret store.
Anything an editor or a workspace sends under ``providers`` is ignored with a warning, so a
cloned repository's settings can never send a key to another host.
"""

from __future__ import annotations

import dataclasses
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .wire import ParamError, structure_dataclass, unstructure

# ------------------------------------------------------------------------------------------
# The settings


@dataclass(frozen=True)
class RoutingSettings:
    tier: Literal["efficient", "balanced", "frontier", "free"] = "efficient"
    dial: Literal["bill", "bar"] = "bill"
    pin: str = ""                       # a model id: step out of routing
    balanced_model: str = ""            # "" = the leaderboard's Balanced model
    frontier_model: str = ""            # "" = the leaderboard's Frontier model
    min_confidence: float = 0.5         # hard floor: below it, route to Balanced
    margin: float = 0.05                # non-inferiority margin against Balanced
    floor: float = 0.0                  # a model's lower-bound accuracy must reach this
    switch_factor: float = 1.0          # weight of the lost prompt cache when switching down
    idle_reset_minutes: float = 30.0    # a session idle this long starts afresh
    max_sessions: int = 512             # sessions kept in memory (least recently used go first)
    leaderboard_path: str = ""          # "" = the leaderboard shipped with kilo-lsp
    prefer_direct: bool = True          # reach a model through its maker's API before a gateway
    single_model: bool = False          # opt out of routing: Balanced for every request

    def validate(self, path: str) -> None:
        for name in ("min_confidence", "margin", "floor"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ParamError(f"{path}.{name}", f"must be between 0 and 1, got {value}")
        if self.switch_factor < 0 or self.idle_reset_minutes < 0:
            raise ParamError(path, "switchFactor and idleResetMinutes must be >= 0")
        if not 1 <= self.max_sessions <= 100_000:
            raise ParamError(f"{path}.maxSessions", "must be between 1 and 100000")


@dataclass(frozen=True)
class ProviderSettings:
    api_key: str = ""
    base_url: str = ""

    def __repr__(self) -> str:  # never print a key
        return f"ProviderSettings(api_key={mask(self.api_key)!r}, base_url={self.base_url!r})"


@dataclass(frozen=True)
class LocalSettings:
    discover: bool = True               # ask local servers for their models on first use
    ollama_url: str = "http://127.0.0.1:11434/v1"
    lmstudio_url: str = "http://127.0.0.1:1234/v1"
    endpoints: list[str] = field(default_factory=list)  # more OpenAI-compatible servers on loopback

    def validate(self, path: str) -> None:
        for i, url in enumerate([self.ollama_url, self.lmstudio_url, *self.endpoints]):
            if url and not is_loopback_url(url):
                raise ParamError(f"{path}.endpoints[{i}]", f"local servers must be on this machine, got {url}")


@dataclass(frozen=True)
class NetworkSettings:
    ca_bundle: str = ""                 # PEM file of extra trusted CAs (also SSL_CERT_FILE)
    connect_timeout: float = 10.0
    first_token_timeout: float = 60.0
    idle_timeout: float = 60.0


@dataclass(frozen=True)
class BudgetSettings:
    daily_usd_per_workspace: float = 0.0  # 0 = no budget

    def validate(self, path: str) -> None:
        if self.daily_usd_per_workspace < 0:
            raise ParamError(f"{path}.dailyUsdPerWorkspace", "must be >= 0")


@dataclass(frozen=True)
class LogSettings:
    level: Literal["debug", "info", "warning", "error"] = "info"
    trace_file: str = ""                # a JSON-lines trace of decisions (no keys, no prompts)


SECTIONS: dict[str, type] = {
    "routing": RoutingSettings,
    "local": LocalSettings,
    "network": NetworkSettings,
    "budget": BudgetSettings,
    "log": LogSettings,
}


@dataclass(frozen=True)
class Settings:
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    local: LocalSettings = field(default_factory=LocalSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    budget: BudgetSettings = field(default_factory=BudgetSettings)
    log: LogSettings = field(default_factory=LogSettings)
    providers: dict[str, ProviderSettings] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict, compare=False)  # "routing.tier" -> "env:KILO_TIER"
    problems: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def defaults(cls) -> "Settings":
        return cls()

    def with_routing(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, routing=dataclasses.replace(self.routing, **changes))

    def credentialed_providers(self) -> set[str]:
        return {name for name, p in self.providers.items() if p.api_key}


# ------------------------------------------------------------------------------------------
# Helpers

_LOOPBACK = re.compile(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/.*)?$", re.I)


def is_loopback_url(url: str) -> bool:
    return bool(_LOOPBACK.match(url.strip()))


def mask(secret: str) -> str:
    """How a key may appear anywhere: only whether it is set."""
    return "(set)" if secret else "(not set)"


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).replace("-", "_").lower()


def _normalise(raw: Any) -> Any:
    """camelCase, kebab-case and snake_case keys all become snake_case."""
    if isinstance(raw, dict):
        return {_snake(str(k)): _normalise(v) for k, v in raw.items()}
    return raw


def user_config_dir() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "kilo-lsp"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "kilo-lsp"
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kilo-lsp"


def user_data_dir() -> Path:
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local")) / "kilo-lsp"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "kilo-lsp"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "kilo-lsp"


def user_config_path(env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env["KILO_CONFIG"]).expanduser() if env.get("KILO_CONFIG") else user_config_dir() / "config.toml"


# Environment variables that map onto settings (besides provider keys).
ENV_SETTINGS: dict[str, tuple[str, str, type]] = {
    "KILO_TIER": ("routing", "tier", str),
    "KILO_DIAL": ("routing", "dial", str),
    "KILO_PIN": ("routing", "pin", str),
    "KILO_BALANCED_MODEL": ("routing", "balanced_model", str),
    "KILO_FRONTIER_MODEL": ("routing", "frontier_model", str),
    "KILO_MIN_CONFIDENCE": ("routing", "min_confidence", float),
    "KILO_LEADERBOARD": ("routing", "leaderboard_path", str),
    "KILO_SINGLE_MODEL": ("routing", "single_model", bool),
    "KILO_DAILY_BUDGET_USD": ("budget", "daily_usd_per_workspace", float),
    "KILO_LOG_LEVEL": ("log", "level", str),
    "KILO_TRACE_FILE": ("log", "trace_file", str),
    "KILO_CA_BUNDLE": ("network", "ca_bundle", str),
    "KILO_LOCAL_DISCOVER": ("local", "discover", bool),
}


def provider_env_keys() -> dict[str, str]:
    """Provider name -> environment variable holding its key (from the provider registry)."""
    try:
        from .providers.known import KNOWN_PROVIDERS
    except ImportError:  # registry not available: the common names only
        return {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY",
                "openrouter": "OPENROUTER_API_KEY", "kilo": "KILO_API_KEY"}
    return {name: info.env_key for name, info in KNOWN_PROVIDERS.items() if getattr(info, "env_key", None)}


def _env_value(raw: str, tp: type) -> Any:
    if tp is bool:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if tp is float:
        try:
            return float(raw)
        except ValueError:
            return raw  # left for validation to reject with a clear message
    return raw


def env_layer(env: dict[str, str]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for var, (section, key, tp) in ENV_SETTINGS.items():
        if env.get(var, "") != "":
            layer.setdefault(section, {})[key] = _env_value(env[var], tp)
    for name, var in provider_env_keys().items():
        if env.get(var):
            layer.setdefault("providers", {}).setdefault(name, {})["api_key"] = env[var]
        base = env.get(f"KILO_{name.upper()}_BASE_URL")
        if base:
            layer.setdefault("providers", {}).setdefault(name, {})["base_url"] = base
    return layer


# ------------------------------------------------------------------------------------------
# Layers and merging


@dataclass
class Layer:
    name: str                    # "defaults", "user-file:<path>", "env", "initializationOptions", ...
    values: dict[str, Any]
    user_level: bool             # may set providers (keys and base URLs)


def read_user_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The user config file as a dict, plus problems found (never raises)."""
    problems: list[str] = []
    if not path.is_file():
        return {}, problems
    import tomllib   # only when there is a file to read
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        return {}, [f"config file {path} could not be read: {exc}"]
    if os.name == "posix" and "providers" in data:
        try:
            mode = path.stat().st_mode
            if mode & 0o077:
                problems.append(f"config file {path} holds API keys and other users can read it "
                                f"(mode {oct(mode & 0o777)}); run: chmod 600 {path}")
        except OSError:
            pass
    return data, problems


def merge(layers: list[Layer]) -> Settings:
    """Merge layers (lowest first) into typed Settings. An invalid section falls back to its defaults."""
    problems: list[str] = []
    sources: dict[str, str] = {}
    merged: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    providers: dict[str, dict[str, Any]] = {}
    for layer in layers:
        values = _normalise(layer.values or {})
        if not isinstance(values, dict):
            problems.append(f"{layer.name}: settings must be an object")
            continue
        # A client may wrap its settings in a "kilo" section, as VS Code does.
        if isinstance(values.get("kilo"), dict):
            values = values["kilo"]
        for section, body in values.items():
            if section == "providers":
                if not layer.user_level:
                    problems.append(f"{layer.name}: 'providers' ignored: keys and base URLs are taken only "
                                    "from the user config file, the environment or the editor's secret store")
                    continue
                if not isinstance(body, dict):
                    problems.append(f"{layer.name}: providers must be a table")
                    continue
                for pname, pbody in body.items():
                    if isinstance(pbody, dict):
                        for k, v in pbody.items():
                            providers.setdefault(pname, {})[k] = v
                            sources[f"providers.{pname}.{k}"] = layer.name
                continue
            if section not in SECTIONS:
                problems.append(f"{layer.name}: unknown settings section '{section}'")
                continue
            if not isinstance(body, dict):
                problems.append(f"{layer.name}: '{section}' must be an object")
                continue
            for key, value in body.items():
                if section == "log" and key == "trace_file" and not layer.user_level:
                    problems.append(f"{layer.name}: 'log.traceFile' ignored: the trace file is taken only from "
                                    "the user config file or the environment")
                    continue
                merged[section][key] = value
                sources[f"{section}.{key}"] = layer.name
    typed: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        try:
            typed[section] = structure_dataclass(merged[section], cls, section)
        except ParamError as exc:
            problems.append(f"invalid setting {exc}; using the defaults for '{section}'")
            typed[section] = cls()
            for key in list(sources):
                if key.startswith(section + "."):
                    sources[key] = "defaults (invalid value ignored)"
    typed_providers: dict[str, ProviderSettings] = {}
    for pname, body in providers.items():
        try:
            typed_providers[pname] = structure_dataclass(body, ProviderSettings, f"providers.{pname}")
        except ParamError as exc:  # the value is not shown: it may be a key
            problems.append(f"invalid setting {exc.field}: expected a string; provider '{pname}' ignored")
    return Settings(**typed, providers=typed_providers, sources=sources, problems=tuple(problems))


def describe(settings: Settings) -> dict[str, Any]:
    """Effective settings as plain data, keys masked, with the source of every value."""
    out: dict[str, Any] = {}
    for section in SECTIONS:
        values = unstructure(getattr(settings, section))
        out[section] = {k: {"value": v, "source": settings.sources.get(f"{section}.{_snake(k)}", "defaults")}
                        for k, v in values.items()}
    out["providers"] = {
        name: {"apiKey": mask(p.api_key), "baseUrl": p.base_url or "(default)",
               "source": settings.sources.get(f"providers.{name}.api_key")
               or settings.sources.get(f"providers.{name}.base_url", "")}
        for name, p in sorted(settings.providers.items())
    }
    return out


class ConfigStore:
    """Holds the layers for one sidecar and answers the effective settings of a workspace folder."""

    def __init__(self, env: dict[str, str] | None = None, user_file: Path | None = None):
        self.env = dict(os.environ if env is None else env)
        self.user_file = user_file or user_config_path(self.env)
        file_values, self.file_problems = read_user_file(self.user_file)
        self.base: list[Layer] = [
            Layer(f"user-file:{self.user_file}", file_values, True),
            Layer("env", env_layer(self.env), True),
        ]
        self.secret_store: dict[str, str] = {}        # provider -> key pushed by the editor
        self.init_options: dict[str, Any] = {}
        self.client_settings: dict[str, Any] = {}
        self.folder_settings: dict[str, dict[str, Any]] = {}
        self._cache: dict[str, Settings] = {}

    def _layers(self, folder: str | None) -> list[Layer]:
        layers = list(self.base)
        if self.secret_store:
            layers.append(Layer("editor-secret-store",
                                {"providers": {n: {"api_key": k} for n, k in self.secret_store.items()}}, True))
        layers.append(Layer("initializationOptions", self.init_options, False))
        layers.append(Layer("client-settings", self.client_settings, False))
        if folder and folder in self.folder_settings:
            layers.append(Layer(f"workspace-folder:{folder}", self.folder_settings[folder], False))
        return layers

    def effective(self, folder: str | None = None) -> Settings:
        key = folder or ""
        settings = self._cache.get(key)
        if settings is None:
            settings = merge(self._layers(folder))
            if self.file_problems:
                settings = dataclasses.replace(settings, problems=tuple(self.file_problems) + settings.problems)
            self._cache[key] = settings
        return settings

    def changed(self) -> None:
        self._cache.clear()

    def set_init_options(self, options: Any) -> None:
        self.init_options = options if isinstance(options, dict) else {}
        self.changed()

    def set_client_settings(self, values: Any) -> None:
        self.client_settings = values if isinstance(values, dict) else {}
        self.changed()

    def set_folder_settings(self, folder: str, values: Any) -> None:
        self.folder_settings[folder] = values if isinstance(values, dict) else {}
        self.changed()

    def set_secret(self, provider: str, key: str | None) -> None:
        if key:
            self.secret_store[provider] = key
        else:
            self.secret_store.pop(provider, None)
        self.changed()
