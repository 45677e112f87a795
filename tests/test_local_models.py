"""Local servers become free, local, callable models; routing the free tier uses them."""

import asyncio

from kilo_lsp.config import ConfigStore
from kilo_lsp.routing.engine import Engine
from kilo_lsp.providers.local import discover_models, local_endpoints, models_from_discovery
from kilo_lsp.protocol import RouteParams


def settings_with(tmp_path, endpoints):
    store = ConfigStore(env={}, user_file=tmp_path / "none.toml")
    store.set_client_settings({"local": {"endpoints": endpoints, "ollamaUrl": "", "lmstudioUrl": ""}})
    return store.effective()


def test_discovery_names_models_per_server(tmp_path):
    s = settings_with(tmp_path, ["http://127.0.0.1:18080/v1"])
    assert local_endpoints(s) == {"local:127.0.0.1:18080": "http://127.0.0.1:18080/v1"}
    models = models_from_discovery({"http://127.0.0.1:18080/v1": ["smollm2-135m"]}, s)
    assert [m.id for m in models] == ["local:127.0.0.1:18080/smollm2-135m"]
    assert models[0].local and models[0].free and models[0].prices.cost(1000, 1000) == 0


def test_discovery_against_a_real_server_and_free_tier_routes_to_it(tmp_path, fake_models_server):
    s = settings_with(tmp_path, [fake_models_server])
    models = asyncio.run(discover_models(s))
    assert [m.routes for m in models] == [{"local:127.0.0.1:%s" % fake_models_server.split(":")[2].split("/")[0]: "tiny-local"}]
    engine = Engine(settings=s)
    engine.local_models = models
    card = engine.route(RouteParams(text="explain this function", tier="free"))
    assert card.model == models[0].id and card.callable and card.reason_code == "tier_free"
    assert card.estimated_cost_usd == 0


def test_nothing_listening_finds_nothing(tmp_path):
    s = settings_with(tmp_path, ["http://127.0.0.1:9/v1"])
    assert asyncio.run(discover_models(s)) == []
