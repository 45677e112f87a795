"""The table of providers kilo-lsp knows by name, without importing any HTTP code.

The configuration reads it at start-up (which environment variable holds which key), so it lives
apart from the provider clients: httpx2 stays off the start-up path until a provider is called.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

if TYPE_CHECKING:
    from .base import ProviderKind


@dataclass(frozen=True)
class KnownProvider:
    name: str
    kind: ProviderKind
    base_url: str
    key_env: str | None          # environment variable holding the key (None: no key needed)
    local: bool = False
    label: str = ""
    extra_headers: Mapping[str, str] = field(default_factory=dict)


_OPENROUTER_HEADERS = {"X-Title": "kilo-lsp"}

KNOWN: dict[str, KnownProvider] = {p.name: p for p in (
    KnownProvider("openai", "openai", "https://api.openai.com/v1", "OPENAI_API_KEY", label="OpenAI"),
    KnownProvider("anthropic", "anthropic", "https://api.anthropic.com", "ANTHROPIC_API_KEY", label="Anthropic"),
    KnownProvider("openrouter", "openai", "https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", label="OpenRouter",
                  extra_headers=_OPENROUTER_HEADERS),
    # Kilo AI Gateway, OpenRouter-compatible (kilo.ai/docs/gateway): base URL .../api/gateway
    KnownProvider("kilo", "openai", "https://api.kilo.ai/api/gateway", "KILO_API_KEY", label="Kilo Gateway",
                  extra_headers=_OPENROUTER_HEADERS),
    KnownProvider("google", "openai", "https://generativelanguage.googleapis.com/v1beta/openai", "GEMINI_API_KEY",
                  label="Google Gemini"),
    KnownProvider("deepseek", "openai", "https://api.deepseek.com/v1", "DEEPSEEK_API_KEY", label="DeepSeek"),
    KnownProvider("mistral", "openai", "https://api.mistral.ai/v1", "MISTRAL_API_KEY", label="Mistral"),
    KnownProvider("groq", "openai", "https://api.groq.com/openai/v1", "GROQ_API_KEY", label="Groq"),
    KnownProvider("xai", "openai", "https://api.x.ai/v1", "XAI_API_KEY", label="xAI"),
    KnownProvider("zai", "openai", "https://api.z.ai/api/paas/v4", "ZAI_API_KEY", label="Z.ai (GLM)"),
    KnownProvider("moonshot", "openai", "https://api.moonshot.ai/v1", "MOONSHOT_API_KEY", label="Moonshot (Kimi)"),
    KnownProvider("minimax", "openai", "https://api.minimax.io/v1", "MINIMAX_API_KEY", label="MiniMax"),
    KnownProvider("qwen", "openai", "https://dashscope-intl.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY",
                  label="Qwen (DashScope)"),
    KnownProvider("lmstudio", "openai", "http://127.0.0.1:1234/v1", None, local=True, label="LM Studio"),
    KnownProvider("ollama", "openai", "http://127.0.0.1:11434/v1", None, local=True, label="Ollama"),
)}

LOCAL_DEFAULT_URLS: tuple[str, ...] = tuple(p.base_url for p in KNOWN.values() if p.local)
