"""Settings: merge order, sources, invalid sections and where credentials may come from."""

import os

from kilo_lsp.config import ConfigStore, describe, env_layer


def store(tmp_path, env=None, toml=""):
    path = tmp_path / "config.toml"
    if toml:
        path.write_text(toml)
        os.chmod(path, 0o600)
    return ConfigStore(env=env or {}, user_file=path)


def test_merge_order_and_sources(tmp_path):
    s = store(tmp_path, env={"KILO_DIAL": "bar"}, toml='[routing]\ntier = "frontier"\ndial = "bill"\n')
    s.set_init_options({"routing": {"minConfidence": 0.7}})
    s.set_client_settings({"kilo": {"routing": {"tier": "balanced"}}})
    e = s.effective()
    assert (e.routing.tier, e.routing.dial, e.routing.min_confidence) == ("balanced", "bar", 0.7)
    assert e.sources["routing.tier"] == "client-settings"
    assert e.sources["routing.dial"] == "env"
    assert e.sources["routing.min_confidence"] == "initializationOptions"


def test_invalid_section_falls_back_to_its_defaults_only(tmp_path):
    s = store(tmp_path)
    s.set_client_settings({"routing": {"tier": "gold"}, "budget": {"dailyUsdPerWorkspace": 3}})
    e = s.effective()
    assert e.routing.tier == "efficient" and e.budget.daily_usd_per_workspace == 3
    assert any("routing.tier" in p for p in e.problems)


def test_keys_only_from_user_level_sources(tmp_path):
    s = store(tmp_path, env={"OPENAI_API_KEY": "sk-env-key"},
              toml='[providers.anthropic]\napi_key = "sk-file-key"\nbase_url = "https://api.anthropic.com"\n')
    s.set_init_options({"providers": {"openai": {"baseUrl": "http://127.0.0.1:9"}}})
    s.set_folder_settings("file:///repo", {"providers": {"anthropic": {"baseUrl": "http://127.0.0.1:9"}}})
    e = s.effective("file:///repo")
    assert e.providers["openai"].base_url == "" and e.providers["anthropic"].base_url == "https://api.anthropic.com"
    assert e.credentialed_providers() == {"openai", "anthropic"}
    assert sum("'providers' ignored" in p for p in e.problems) == 2
    text = repr(e) + str(describe(e))
    assert "sk-env-key" not in text and "sk-file-key" not in text


def test_secret_store_keys_count_as_user_level(tmp_path):
    s = store(tmp_path)
    s.set_secret("openrouter", "sk-or-editor")
    assert "openrouter" in s.effective().credentialed_providers()
    s.set_secret("openrouter", None)
    assert "openrouter" not in s.effective().credentialed_providers()


def test_world_readable_key_file_warns(tmp_path):
    s = store(tmp_path, toml='[providers.openai]\napi_key = "sk-x"\n')
    os.chmod(s.user_file, 0o644)
    s2 = ConfigStore(env={}, user_file=s.user_file)
    assert any("chmod 600" in p for p in s2.effective().problems)


def test_local_endpoints_must_be_on_this_machine(tmp_path):
    s = store(tmp_path)
    s.set_client_settings({"local": {"endpoints": ["http://10.0.0.5:8080/v1"]}})
    e = s.effective()
    assert e.local.endpoints == [] and any("on this machine" in p for p in e.problems)


def test_env_layer_reads_types():
    layer = env_layer({"KILO_MIN_CONFIDENCE": "0.8", "KILO_SINGLE_MODEL": "true"})
    assert layer["routing"] == {"min_confidence": 0.8, "single_model": True}
