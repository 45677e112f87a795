"""Typed, defaulted settings, merged from every source, with where each value came from.

Sources, lowest first: built-in defaults, the user config file (TOML), environment variables,
``initializationOptions``, the client's global settings (``workspace/didChangeConfiguration`` or
``workspace/configuration`` without a scope) and the per-folder settings of a workspace folder.

A value that does not fit its setting is ignored with a problem naming the setting and where the
value came from; the value of the sources below it stays (other settings are not touched).

Trust is by source. Credentials and the hosts they go to (``providers.*``), the CAs trusted
(``network.caBundle``) and the files the sidecar reads or writes (``routing.leaderboardPath``,
``log.traceFile``) are taken only from user-level sources: the defaults, the user config file, the
environment and keys the editor pushes from its secret store. What an editor or a workspace sends for
them is ignored with a warning, so a cloned repository's settings can never send a key to another host,
make the sidecar trust another certificate, or name a file for it to read. The daily budget may be
lowered by a workspace folder, never raised or removed (see ``_Merge._budget_refusal``). Numbers are
range-checked (finite, with upper bounds), whatever their source.

The user config file may also hold settings for one workspace folder, in a table
``[workspaces."<folder URI>"]`` (e.g. ``[workspaces."file:///home/me/shop".routing]``, what the
dashboard writes): they apply to that folder above the file's own top-level values and below the
environment (``providers`` is not taken there). A running sidecar re-reads the file when it changes
(``ConfigStore.file_stamp`` / ``read_file`` off the event loop, ``use_file`` on it).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import platformdirs
from msgspec import Meta, Struct

from .files import read_checked
from .providers.known import KNOWN
from .redaction import key_problem, mask_url, remember, url_secrets
from .validation import error_path

APP_NAME = "kilo-lsp"

# ------------------------------------------------------------------------------------------
# The settings

Fraction = Annotated[float, Meta(ge=0.0, le=1.0)]
#: The largest daily budget a setting may hold (a bound, so that inf or 1e308 are refused).
MAX_BUDGET_USD = 1_000_000.0
#: Local servers a setting may list.
MAX_LOCAL_ENDPOINTS = 16
#: The size of the user config file read.
USER_FILE_LIMIT = 1024 * 1024
Seconds = Annotated[float, Meta(gt=0.0, le=3600.0)]


class Section(Struct, frozen=True, rename="camel"):
    """A settings section: camelCase keys, as editors write them."""


class RoutingSettings(Section):
    tier: Literal["efficient", "balanced", "frontier", "free"] = "efficient"
    dial: Literal["bill", "bar"] = "bill"
    pin: Annotated[str, Meta(description="a model id: step out of routing")] = ""
    balanced_model: Annotated[str, Meta(description='"" = the leaderboard\'s Balanced model')] = ""
    frontier_model: Annotated[str, Meta(description='"" = the leaderboard\'s Frontier model')] = ""
    min_confidence: Annotated[Fraction, Meta(description="hard floor: below it, route to Balanced")] = 0.5
    margin: Annotated[Fraction, Meta(description="non-inferiority margin against Balanced")] = 0.05
    floor: Annotated[Fraction, Meta(description="a model's lower-bound accuracy must reach this")] = 0.0
    switch_factor: Annotated[float, Meta(ge=0.0, le=100.0), Meta(
        description="weight of the lost prompt cache when switching down")] = 1.0
    idle_reset_minutes: Annotated[float, Meta(ge=0.0, le=10_080.0), Meta(
        description="a session idle this long starts afresh (at most a week)")] = 30.0
    max_sessions: Annotated[int, Meta(ge=1, le=100_000), Meta(
        description="sessions kept in memory (least recently used go first)")] = 512
    leaderboard_path: Annotated[str, Meta(description='"" = the leaderboard shipped with kilo-lsp; '
                                          'user config file or environment only')] = ""
    prefer_direct: Annotated[bool, Meta(description="reach a model through its maker's API before a gateway")] = True
    single_model: Annotated[bool, Meta(description="opt out of routing: Balanced for every request")] = False


class ProviderSettings(Section):
    api_key: str = ""
    base_url: str = ""

    def __post_init__(self) -> None:
        problem = key_problem(self.api_key) if self.api_key else None
        if problem:
            raise ValueError(f"apiKey: {problem}")      # the value is never part of the message
        if self.base_url and key_problem(self.base_url):
            raise ValueError("baseUrl: must not contain whitespace or control characters")

    def __repr__(self) -> str:  # never print a key
        return f"ProviderSettings(api_key={mask(self.api_key)!r}, base_url={mask_url(self.base_url)!r})"


_LOOPBACK = re.compile(r"^https?://(127\.\d+\.\d+\.\d+|localhost|\[::1\])(:\d+)?(/.*)?$", re.I)


def is_loopback_url(url: str) -> bool:
    return bool(_LOOPBACK.match(url.strip()))


class LocalSettings(Section):
    discover: Annotated[bool, Meta(description="ask local servers for their models while the sidecar runs")] = True
    ollama_url: str = "http://127.0.0.1:11434/v1"
    lmstudio_url: str = "http://127.0.0.1:1234/v1"
    endpoints: Annotated[list[str], Meta(max_length=MAX_LOCAL_ENDPOINTS),
                         Meta(description="more OpenAI-compatible servers on loopback")] = []

    def __post_init__(self) -> None:
        for name, urls in (("ollamaUrl", [self.ollama_url]), ("lmstudioUrl", [self.lmstudio_url]),
                           ("endpoints", self.endpoints)):
            for url in urls:
                if url and not is_loopback_url(url):
                    raise ValueError(f"{name}: local servers must be on this machine, got {url}")


class NetworkSettings(Section):
    ca_bundle: Annotated[str, Meta(description="PEM file of extra trusted CAs (also SSL_CERT_FILE); user config "
                                   "file or environment only")] = ""
    connect_timeout: Seconds = 10.0
    first_token_timeout: Seconds = 60.0
    idle_timeout: Seconds = 60.0


class BudgetSettings(Section):
    daily_usd_per_workspace: Annotated[float, Meta(ge=0.0, le=MAX_BUDGET_USD), Meta(
        description="0 = no budget; a workspace folder may lower it, never raise it")] = 0.0


class LogSettings(Section):
    level: Literal["debug", "info", "warning", "error"] = "info"
    trace_file: Annotated[str, Meta(description="a JSON-lines trace of decisions (no keys, no prompts)")] = ""


SECTIONS: dict[str, type[Section]] = {
    "routing": RoutingSettings,
    "local": LocalSettings,
    "network": NetworkSettings,
    "budget": BudgetSettings,
    "log": LogSettings,
}
#: Settings taken only from user-level sources: they name files the sidecar reads or writes, or what it trusts.
USER_LEVEL_ONLY = frozenset({"log.traceFile", "network.caBundle", "routing.leaderboardPath"})
BUDGET = "budget.dailyUsdPerWorkspace"


class Settings(Struct, frozen=True):
    routing: RoutingSettings = RoutingSettings()
    local: LocalSettings = LocalSettings()
    network: NetworkSettings = NetworkSettings()
    budget: BudgetSettings = BudgetSettings()
    log: LogSettings = LogSettings()
    providers: dict[str, ProviderSettings] = {}
    sources: dict[str, str] = {}            # "routing.tier" -> "env"
    problems: tuple[str, ...] = ()

    @classmethod
    def defaults(cls) -> "Settings":
        return cls()

    def with_routing(self, **changes: Any) -> "Settings":
        return msgspec.structs.replace(self, routing=msgspec.structs.replace(self.routing, **changes))

    def credentialed_providers(self) -> set[str]:
        return {name for name, p in self.providers.items() if p.api_key}


# ------------------------------------------------------------------------------------------
# Helpers


def mask(secret: str) -> str:
    """How a key may appear anywhere: only whether it is set."""
    return "(set)" if secret else "(not set)"


def camel(key: str) -> str:
    """snake_case, kebab-case and camelCase keys all become camelCase."""
    head, *rest = re.split(r"[_-]+", key)
    return head[:1].lower() + head[1:] + "".join(p[:1].upper() + p[1:] for p in rest)


def _normalise(raw: Any) -> Any:
    if isinstance(raw, dict):
        return {camel(str(k)): _normalise(v) for k, v in raw.items()}
    return raw


def user_config_path(env: dict[str, str] | None = None) -> Path:
    """KILO_CONFIG, else config.toml in the user's config directory ($XDG_CONFIG_HOME/kilo-lsp on
    Linux, the platform's own on macOS and Windows)."""
    env = os.environ if env is None else env
    if env.get("KILO_CONFIG"):
        return Path(env["KILO_CONFIG"]).expanduser()
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False, roaming=True)) / "config.toml"


# Environment variables that map onto settings (besides provider keys).
ENV_SETTINGS: dict[str, tuple[str, str, type]] = {
    "KILO_TIER": ("routing", "tier", str),
    "KILO_DIAL": ("routing", "dial", str),
    "KILO_PIN": ("routing", "pin", str),
    "KILO_BALANCED_MODEL": ("routing", "balancedModel", str),
    "KILO_FRONTIER_MODEL": ("routing", "frontierModel", str),
    "KILO_MIN_CONFIDENCE": ("routing", "minConfidence", float),
    "KILO_LEADERBOARD": ("routing", "leaderboardPath", str),
    "KILO_SINGLE_MODEL": ("routing", "singleModel", bool),
    "KILO_DAILY_BUDGET_USD": ("budget", "dailyUsdPerWorkspace", float),
    "KILO_LOG_LEVEL": ("log", "level", str),
    "KILO_TRACE_FILE": ("log", "traceFile", str),
    "KILO_CA_BUNDLE": ("network", "caBundle", str),
    "KILO_LOCAL_DISCOVER": ("local", "discover", bool),
}


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
    for name, info in KNOWN.items():
        if info.key_env and env.get(info.key_env):
            layer.setdefault("providers", {}).setdefault(name, {})["apiKey"] = env[info.key_env]
        base = env.get(f"KILO_{name.upper()}_BASE_URL")
        if base:
            layer.setdefault("providers", {}).setdefault(name, {})["baseUrl"] = base
    return layer


# ------------------------------------------------------------------------------------------
# Layers and merging


@dataclass
class Layer:
    name: str                    # "user-file:<path>", "env", "initializationOptions", ...
    values: dict[str, Any]
    user_level: bool             # may set providers (keys and base URLs), trust and files to read or write
    folder: bool = False         # a workspace folder's own settings: may only lower the budget in force


def read_user_file(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The user config file as a dict, plus problems found (never raises)."""
    problems: list[str] = []
    if not path.exists():
        return {}, problems
    import tomllib   # only when there is a file to read: start-up stays lean without one
    try:
        data = tomllib.loads(read_checked(path, "config file", USER_FILE_LIMIT).decode("utf-8"))
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


class _Merge:
    """Settings built up layer by layer; each value is checked against what is merged so far."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
        self.typed: dict[str, Section] = {name: cls() for name, cls in SECTIONS.items()}
        self.providers: dict[str, dict[str, Any]] = {}
        self.sources: dict[str, str] = {}
        self.problems: list[str] = []
        self._rejected: set[tuple[str, str]] = set()   # (setting, value): said once, whichever layers send it
        self.user_budget = 0.0          # the daily budget set by user-level sources (0: none)

    def add(self, layer: Layer) -> None:
        values = _normalise(layer.values or {})
        if not isinstance(values, dict):
            self.problems.append(f"{layer.name}: settings must be an object")
            return
        # A client may wrap its settings in a "kilo" section, as VS Code does.
        if isinstance(values.get("kilo"), dict):
            values = values["kilo"]
        for section, body in values.items():
            if section == "providers":
                self._add_providers(layer, body)
            elif section not in SECTIONS:
                self.problems.append(f"{layer.name}: unknown settings section '{section}'")
            elif not isinstance(body, dict):
                self.problems.append(f"{layer.name}: '{section}' must be an object")
            else:
                for key, value in body.items():
                    self._add_value(layer, section, key, value)

    def _add_value(self, layer: Layer, section: str, key: str, value: Any) -> None:
        name = f"{section}.{key}"
        if name in USER_LEVEL_ONLY and not layer.user_level:
            self.problems.append(f"{layer.name}: '{name}' ignored: it is taken only from the user config file "
                                 "or the environment")
            return
        if name == BUDGET and not layer.user_level:
            refusal = self._budget_refusal(layer, value)
            if refusal:
                self.problems.append(f"{layer.name}: '{name}' = {value!r} ignored: {refusal}")
                return
        candidate = {**self.values[section], key: value}
        try:
            typed = msgspec.convert(candidate, SECTIONS[section])
        except msgspec.ValidationError as exc:
            if (name, repr(value)) in self._rejected:   # an editor may send its settings twice
                return
            self._rejected.add((name, repr(value)))
            field, message = error_path(exc, SECTIONS[section])
            kept = self.values[section].get(key, msgspec.to_builtins(self.typed[section]).get(key))
            source = self.sources.get(name)
            got = repr(value) if len(repr(value)) <= 80 else repr(value)[:79] + "…"
            if "got " not in message:
                message += f", got {got}"
            self.problems.append(f"{layer.name}: invalid setting {section}.{field or key}: {message}; "
                                 f"keeping {kept!r} " + (f"from {source}" if source else "(the default)"))
            return
        self.values[section], self.typed[section] = candidate, typed
        self.sources[name] = layer.name
        if name == BUDGET and layer.user_level:
            self.user_budget = typed.daily_usd_per_workspace  # type: ignore[attr-defined]

    def _budget_refusal(self, layer: Layer, value: Any) -> str:
        """Why an editor's or a workspace folder's daily budget is not taken ("" when it is).

        A workspace folder may lower the budget in force (or set one where there is none), never raise
        or remove it (0 is no budget). The editor's own settings may set any budget up to the user-level
        one (VS Code merges a workspace's settings into what it sends, so they too are not trusted to
        lift a budget the user set in the config file or the environment)."""
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return ""                              # the type check refuses it, with its own message
        limit = self.typed["budget"].daily_usd_per_workspace if layer.folder else self.user_budget  # type: ignore[attr-defined]
        if not limit:
            return ""                              # no budget in force: setting one lowers it
        if value == 0:
            return f"it would remove the budget of {limit:g} USD in force"
        if value > limit:
            who = ("a workspace folder may lower the budget in force" if layer.folder else
                   "the editor's settings may lower the budget of the user config file or environment")
            return f"{who} ({limit:g} USD), never raise it"
        return ""

    def _add_providers(self, layer: Layer, body: Any) -> None:
        if not layer.user_level:
            self.problems.append(f"{layer.name}: 'providers' ignored: keys and base URLs are taken only "
                                 "from the user config file, the environment or the editor's secret store")
            return
        if not isinstance(body, dict):
            self.problems.append(f"{layer.name}: providers must be a table")
            return
        for pname, pbody in body.items():
            if isinstance(pbody, dict):
                for k, v in pbody.items():
                    self.providers.setdefault(pname, {})[k] = v
                    self.sources[f"providers.{pname}.{k}"] = layer.name

    def settings(self) -> Settings:
        providers: dict[str, ProviderSettings] = {}
        for pname, body in self.providers.items():
            # every key and URL credential is scrubbed from any text from now on, even one refused here
            remember(*(v for k, v in body.items() if k == "apiKey" and isinstance(v, str)),
                     *(c for k, v in body.items() if k == "baseUrl" and isinstance(v, str) for c in url_secrets(v)))
            try:
                providers[pname] = msgspec.convert(body, ProviderSettings)
            except msgspec.ValidationError as exc:  # msgspec's message and ours never hold the value
                field, message = error_path(exc, ProviderSettings)
                self.problems.append(f"invalid setting providers.{pname}.{field}: {message}; "
                                     f"provider '{pname}' ignored")
        return Settings(**self.typed, providers=providers, sources=self.sources, problems=tuple(self.problems))


def merge(layers: list[Layer]) -> Settings:
    """Merge layers (lowest first) into typed Settings (see the module docstring)."""
    m = _Merge()
    for layer in layers:
        m.add(layer)
    return m.settings()


def describe(settings: Settings) -> dict[str, Any]:
    """Effective settings as plain data, keys masked, with the source of every value."""
    out: dict[str, Any] = {}
    for section in SECTIONS:
        values = msgspec.to_builtins(getattr(settings, section))
        out[section] = {k: {"value": v, "source": settings.sources.get(f"{section}.{k}", "defaults")}
                        for k, v in values.items()}
    out["providers"] = {
        name: {"apiKey": mask(p.api_key), "baseUrl": mask_url(p.base_url) or "(default)",
               "source": settings.sources.get(f"providers.{name}.apiKey")
               or settings.sources.get(f"providers.{name}.baseUrl", "")}
        for name, p in sorted(settings.providers.items())
    }
    return out


#: The user config file's table of per-workspace-folder settings.
WORKSPACES = "workspaces"


def file_stamp(path: Path) -> tuple[int, int, int] | None:
    """What changes when the file does (modification time, size, inode); None when there is none."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass(frozen=True)
class UserFile:
    """The user config file as read: its top-level settings, its per-workspace tables, its problems."""

    values: dict[str, Any]
    workspaces: dict[str, dict[str, Any]]
    problems: tuple[str, ...]
    stamp: tuple[int, int, int] | None


def load_user_file(path: Path) -> UserFile:
    """Read the user config file (never raises; a missing file is an empty one)."""
    stamp = file_stamp(path)
    data, problems = read_user_file(path)
    data = dict(data)
    tables = data.pop(WORKSPACES, {})
    workspaces: dict[str, dict[str, Any]] = {}
    if not isinstance(tables, dict):
        problems.append(f"config file {path}: '{WORKSPACES}' must be a table of workspace folder URIs")
        tables = {}
    for uri, body in tables.items():
        if not isinstance(body, dict):
            problems.append(f"config file {path}: [{WORKSPACES}.{uri!r}] must be a table")
        elif "providers" in body:
            problems.append(f"config file {path}: 'providers' ignored in [{WORKSPACES}.{uri!r}]: keys are set "
                            "once, at the top of the file")
            workspaces[workspace_key(uri)] = {k: v for k, v in body.items() if k != "providers"}
        else:
            workspaces[workspace_key(uri)] = body
    return UserFile(data, workspaces, tuple(problems), stamp)


def workspace_key(uri: str) -> str:
    """A workspace folder URI as the user file's tables are matched (without a trailing slash)."""
    return uri.rstrip("/") or uri


class ConfigStore:
    """Holds the layers for one sidecar and answers the effective settings of a workspace folder."""

    def __init__(self, env: dict[str, str] | None = None, user_file: Path | None = None):
        self.env = dict(os.environ if env is None else env)
        self.user_file = user_file or user_config_path(self.env)
        self.secret_store: dict[str, str] = {}        # provider -> key pushed by the editor
        self.init_options: dict[str, Any] = {}
        self.client_settings: dict[str, Any] = {}
        self.folder_settings: dict[str, dict[str, Any]] = {}
        self._cache: dict[str, Settings] = {}
        self._generation = 0
        self.use_file(load_user_file(self.user_file))

    def use_file(self, read: UserFile) -> None:
        """Take the user config file as read (``read_file``); the next settings asked for follow it."""
        self.file = read
        self.file_problems = list(read.problems)
        self.base: list[Layer] = [
            Layer(f"user-file:{self.user_file}", read.values, True),
            Layer("env", env_layer(self.env), True),
        ]
        self.changed()

    def read_file(self) -> UserFile:
        """The user config file read again (blocking: call it off the event loop)."""
        return load_user_file(self.user_file)

    def file_changed(self) -> bool:
        """Whether the user config file differs from the one in use (a stat: call it off the event loop)."""
        return file_stamp(self.user_file) != self.file.stamp

    def _layers(self, folder: str | None) -> list[Layer]:
        layers = list(self.base)
        mine = self.file.workspaces.get(workspace_key(folder)) if folder else None
        if mine:
            layers.insert(1, Layer(f"user-file:{self.user_file} [{WORKSPACES}.\"{workspace_key(folder or '')}\"]",
                                   mine, True))
        if self.secret_store:
            layers.append(Layer("editor-secret-store",
                                {"providers": {n: {"apiKey": k} for n, k in self.secret_store.items()}}, True))
        layers.append(Layer("initializationOptions", self.init_options, False))
        layers.append(Layer("client-settings", self.client_settings, False))
        if folder and folder in self.folder_settings:
            layers.append(Layer(f"workspace-folder:{folder}", self.folder_settings[folder], False, folder=True))
        return layers

    def effective(self, folder: str | None = None) -> Settings:
        key = folder or ""
        settings = self._cache.get(key)
        if settings is None:
            generation = self._generation
            settings = merge(self._layers(folder))
            if self.file_problems:
                settings = msgspec.structs.replace(settings, problems=tuple(self.file_problems) + settings.problems)
            if generation == self._generation:     # not built from layers changed meanwhile (the dashboard's
                self._cache[key] = settings         # thread reads settings while the loop takes a new file)
        return settings

    def changed(self) -> None:
        self._generation += 1
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
