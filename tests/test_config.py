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
    assert e.sources["routing.minConfidence"] == "initializationOptions"


def test_an_invalid_value_is_ignored_and_the_value_below_it_stays(tmp_path):
    s = store(tmp_path, toml='[routing]\ntier = "frontier"\npin = "gpt-5-mini"\n')
    s.set_client_settings({"routing": {"tier": "gold", "dial": "bar"}, "budget": {"dailyUsdPerWorkspace": 3}})
    e = s.effective()
    assert e.routing.tier == "frontier" and e.routing.pin == "gpt-5-mini" and e.routing.dial == "bar"
    assert e.budget.daily_usd_per_workspace == 3
    problem = next(p for p in e.problems if "routing.tier" in p)
    assert problem.startswith("client-settings:") and "'gold'" in problem and "'frontier'" in problem
    assert "keeping 'frontier' from user-file:" in problem
    assert e.sources["routing.tier"].startswith("user-file:")


def test_out_of_range_numbers_are_refused(tmp_path):
    s = store(tmp_path)
    s.set_client_settings({"routing": {"minConfidence": 5}, "network": {"connectTimeout": 0, "idleTimeout": -1}})
    e = s.effective()
    assert e.routing.min_confidence == 0.5 and e.network.connect_timeout == 10.0 and e.network.idle_timeout == 60.0
    assert {p.split(":")[1].split()[-1] for p in e.problems} == {
        "routing.minConfidence", "network.connectTimeout", "network.idleTimeout"}


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
    assert layer["routing"] == {"minConfidence": 0.8, "singleModel": True}
