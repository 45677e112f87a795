"""The dial and tier written to the user config file: everything else kept, per-workspace tables read
back in the right place among the settings' sources, bad files and bad values refused."""

from __future__ import annotations

import os
import tomllib

import pytest

from kilo_lsp.config import ConfigStore
from kilo_lsp.config_write import ConfigWriteError, set_routing

USER_FILE = '''# my settings
[routing]
tier = "efficient"   # the default, said out loud

[providers.anthropic]
api_key = "sk-ant-kept"

[budget]
daily_usd_per_workspace = 5.0
'''
SHOP = "file:///home/me/shop"


def test_global_and_workspace_values_keep_the_rest_of_the_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(USER_FILE)
    os.chmod(path, 0o600)
    set_routing(path, {"dial": "bar"})
    set_routing(path, {"dial": "bill", "tier": "frontier"}, workspace=SHOP + "/")
    text = path.read_text()
    assert "# my settings" in text and "# the default, said out loud" in text and 'api_key = "sk-ant-kept"' in text
    data = tomllib.loads(text)
    assert data["routing"] == {"tier": "efficient", "dial": "bar"}
    assert data["workspaces"][SHOP]["routing"] == {"dial": "bill", "tier": "frontier"}
    assert data["budget"]["daily_usd_per_workspace"] == 5.0
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["config.toml"]          # no temporary file left
    config = ConfigStore(env={}, user_file=path)
    assert (config.effective().routing.dial, config.effective().routing.tier) == ("bar", "efficient")
    shop = config.effective(SHOP)
    assert (shop.routing.dial, shop.routing.tier) == ("bill", "frontier")
    assert shop.sources["routing.dial"] == f'user-file:{path} [workspaces."{SHOP}"]'
    assert shop.providers["anthropic"].api_key == "sk-ant-kept" and not shop.problems
    set_routing(path, {"dial": None, "tier": None}, workspace=SHOP)         # back to the file's top level
    assert "workspaces" not in tomllib.loads(path.read_text())
    assert ConfigStore(env={}, user_file=path).effective(SHOP).routing.dial == "bar"


def test_a_workspace_table_sits_above_the_file_and_below_the_environment_and_the_editor(tmp_path):
    path = tmp_path / "config.toml"
    set_routing(path, {"dial": "bar"}, workspace=SHOP)
    assert oct(path.stat().st_mode & 0o777) == "0o600"                      # a new file is the user's alone
    assert ConfigStore(env={"KILO_DIAL": "bill"}, user_file=path).effective(SHOP).routing.dial == "bill"
    config = ConfigStore(env={}, user_file=path)
    assert config.effective(SHOP).routing.dial == "bar" and config.effective().routing.dial == "bill"
    config.set_folder_settings(SHOP, {"kilo": {"routing": {"dial": "bill"}}})
    assert config.effective(SHOP).routing.dial == "bill"


def test_keys_in_a_workspace_table_are_ignored_with_a_problem(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(f'[workspaces."{SHOP}".providers.openai]\nbase_url = "https://catcher.example"\n'
                    f'[workspaces."{SHOP}".routing]\ndial = "bar"\n')
    shop = ConfigStore(env={}, user_file=path).effective(SHOP)
    assert "openai" not in shop.providers and shop.routing.dial == "bar"
    assert any("'providers' ignored" in p for p in shop.problems)


def test_a_file_that_does_not_parse_and_bad_values_are_refused_and_nothing_is_written(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[routing\ndial = 'bill'\n")
    before = path.read_bytes()
    with pytest.raises(ConfigWriteError, match="not valid TOML"):
        set_routing(path, {"dial": "bar"})
    assert path.read_bytes() == before
    path.write_text(USER_FILE)
    for changes, workspace, message in (({"dial": "cheap"}, None, "must be one of"),
                                        ({"tier": None}, None, "needs a value"),
                                        ({"pin": "gpt-5-5"}, None, "cannot be changed here"),
                                        ({"dial": "bar"}, "file:///a\nb", "one line")):
        with pytest.raises(ConfigWriteError, match=message):
            set_routing(path, changes, workspace)
    assert path.read_text() == USER_FILE


def test_the_store_takes_a_file_read_again(tmp_path):
    path = tmp_path / "config.toml"
    config = ConfigStore(env={}, user_file=path)
    assert config.effective().routing.dial == "bill" and not config.file_changed()
    set_routing(path, {"dial": "bar"})
    assert config.file_changed() and config.effective().routing.dial == "bill"
    config.use_file(config.read_file())
    assert config.effective().routing.dial == "bar" and not config.file_changed()
