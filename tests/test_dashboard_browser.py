"""The dashboard in headless Chromium (Debian's chromium and chromedriver), served by a real sidecar on
three weeks of recorded use: its tables and plots carry the ledger's figures (recomputed here with
SQL of our own), a dial changed on the page reaches the config file and the next decision, a
cross-origin form is refused, and screenshots in light and dark are taken.

Screenshots go to ``$DASHBOARD_SCREENSHOTS`` (``make screenshots`` sets it to bench/results), else to
the test's temporary directory."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import sqlite3
import tempfile
import threading
import tomllib
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from kilo_lsp.routing.outcomes import posterior

from dashboard_harness import config_path, fetch, ledger_path, seeded_home, sidecar_env, with_token
from lsp_harness import request, sidecar
from seed_ledger import WORKSPACES

CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
                                       "chromium-driver; .ci/run installs them)")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
         "--window-size=1200,900", "--force-device-scale-factor=1"]
BUDGET = 1.5
SHOP, BILLING, HOSTILE = WORKSPACES


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("selenium", reason="needs the test extras (pip install -e '.[test]')")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="kilo-chromium-")
    for flag in FLAGS + [f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def dark(driver, on: bool) -> None:
    driver.execute_cdp_cmd("Emulation.setEmulatedMedia",
                           {"features": [{"name": "prefers-color-scheme", "value": "dark" if on else "light"}]})


def submit(driver, button) -> None:
    """Click a form's button and wait for the page it leads to."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    old = driver.find_element("tag name", "html")
    button.click()
    WebDriverWait(driver, 10).until(expected_conditions.staleness_of(old))


def usd(text: str) -> float:
    return float(text.replace("$", "").replace(",", ""))


def cells(driver, table_id: str) -> list[list[str]]:
    """A table's rows as the page shows them (one round trip to the browser)."""
    return driver.execute_script("return [...document.querySelectorAll(arguments[0])].map("
                                 "tr => [...tr.cells].map(td => td.innerText.trim()))", f"#{table_id} tbody tr")


def marks(driver, selector: str, *names: str) -> list[dict[str, str]]:
    """The given attributes of every element the selector finds (one round trip)."""
    return driver.execute_script("return [...document.querySelectorAll(arguments[0])].map("
                                 "e => Object.fromEntries(arguments[1].map(n => [n, e.getAttribute(n)])))",
                                 selector, list(names))


class Ledger:
    """The figures the page must show, recomputed straight from the SQLite file."""

    def __init__(self, path: Path, period: int = 28) -> None:
        self.db = sqlite3.connect(path)
        self.today = date.today().isoformat()
        self.since = (date.today() - timedelta(days=period - 1)).isoformat()

    def one(self, sql: str, *args):
        return self.db.execute(sql, args).fetchone()[0]

    def all(self, sql: str, *args):
        return self.db.execute(sql, args).fetchall()


async def test_the_pages_carry_the_ledgers_figures(tmp_path, browser):
    from selenium.webdriver.common.by import By
    home = seeded_home(tmp_path)
    db = Ledger(ledger_path(home))
    shots = Path(os.environ.get("DASHBOARD_SCREENSHOTS") or tmp_path)
    async with sidecar(home, env=sidecar_env({"KILO_DAILY_BUDGET_USD": str(BUDGET)})) as client:
        url = (await request(client, "kilo/dashboard", {}))["url"]
        board = await request(client, "kilo/leaderboard", {})
        await asyncio.to_thread(browser.get, url)

        # -- usage and savings: the figures, the per-day plot, the tables
        since = db.since
        spent = db.one("SELECT SUM(cost_usd) FROM requests WHERE day >= ?", since)
        balanced = db.one("SELECT SUM(balanced_cost_usd) FROM requests WHERE outcome = 'ok' AND day >= ?", since)
        frontier = db.one("SELECT SUM(frontier_cost_usd) FROM requests WHERE outcome = 'ok' AND day >= ?", since)
        assert usd(browser.find_element(By.ID, "spent").text) == pytest.approx(spent, abs=0.005)
        assert usd(browser.find_element(By.ID, "balanced-cost").text) == pytest.approx(balanced, abs=0.005)
        assert usd(browser.find_element(By.ID, "frontier-cost").text) == pytest.approx(frontier, abs=0.005)
        assert int(browser.find_element(By.ID, "escalations").text) == db.one(
            "SELECT COUNT(*) FROM decisions WHERE escalated = 1 AND day >= ?", since) > 0
        assert int(browser.find_element(By.ID, "failed").text) == db.one(
            "SELECT COUNT(*) FROM outcomes WHERE outcome != 'accepted' AND date(time, 'localtime') >= ?", since) > 0
        assert int(browser.find_element(By.ID, "failovers").text) == db.one(
            "SELECT COUNT(*) FROM requests WHERE outcome = 'error' AND day >= ?", since) > 0

        per_day = {d: (c, b, f) for d, c, b, f in db.all(
            "SELECT day, SUM(cost_usd), SUM(CASE WHEN outcome = 'ok' THEN balanced_cost_usd ELSE 0 END),"
            " SUM(CASE WHEN outcome = 'ok' THEN frontier_cost_usd ELSE 0 END) FROM requests WHERE day >= ?"
            " GROUP BY day", since)}
        rows = cells(browser, "days")
        assert len(rows) == 28 and rows[0][0] == db.today
        for day, cost, bal, fro, decisions, escalations, failed, failovers in rows:
            c, b, f = per_day.get(day, (0.0, 0.0, 0.0))
            assert (usd(cost), usd(bal), usd(fro)) == pytest.approx((c, b, f), abs=0.00005), day
            assert int(decisions) == db.one("SELECT COUNT(*) FROM decisions WHERE day = ?", day)
            assert int(escalations) == db.one("SELECT COUNT(*) FROM decisions WHERE day = ? AND escalated", day)
            assert int(failed) == db.one("SELECT COUNT(*) FROM outcomes WHERE outcome != 'accepted'"
                                         " AND date(time, 'localtime') = ?", day)
            assert int(failovers) == db.one("SELECT COUNT(*) FROM requests WHERE day = ? AND outcome = 'error'", day)
        bars = marks(browser, "#spend-plot rect.bar", "data-day", "data-model", "data-usd")
        stacked: dict[str, float] = {}
        for bar in bars:
            stacked[bar["data-day"]] = stacked.get(bar["data-day"], 0.0) + float(bar["data-usd"])
        assert stacked == pytest.approx({d: c for d, (c, _, _) in per_day.items() if c > 0}, abs=1e-5)
        by_model = dict(db.all("SELECT model, SUM(cost_usd) FROM requests WHERE day >= ? GROUP BY model", since))
        top = max(by_model, key=by_model.get)
        assert sum(float(b["data-usd"]) for b in bars if b["data-model"] == top) == pytest.approx(by_model[top], abs=1e-5)
        dots = {d["data-day"]: float(d["data-usd"])
                for d in marks(browser, "#spend-plot circle[data-line=frontier]", "data-day", "data-usd")}
        assert len(dots) == 28 and {d: v for d, v in dots.items() if v} == pytest.approx(
            {d: f for d, (_, _, f) in per_day.items() if f}, abs=1e-5)

        models = {r[0]: r for r in cells(browser, "models")}
        answered = dict(db.all("SELECT model, COUNT(*) FROM requests WHERE outcome = 'ok' AND day >= ? GROUP BY model",
                               since))
        assert set(models) == set(by_model)
        for m, row in models.items():
            assert int(row[1]) == answered.get(m, 0) and usd(row[2]) == pytest.approx(by_model[m], abs=0.00005)
        spaces = {r[0]: r for r in cells(browser, "workspaces")}
        assert HOSTILE in spaces and not browser.find_elements(By.TAG_NAME, "img")     # shown, not run
        for ws, row in spaces.items():
            assert usd(row[2]) == pytest.approx(db.one(
                "SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE workspace = ? AND day >= ?", ws, since), abs=5e-5)
            today = db.one("SELECT COALESCE(SUM(cost_usd), 0) FROM requests WHERE workspace = ? AND day = ?", ws, db.today)
            assert usd(row[5]) == BUDGET and usd(row[6]) == pytest.approx(today, abs=5e-5)
            assert usd(row[7]) == pytest.approx(max(0.0, BUDGET - today), abs=5e-5)

        for scheme in ("light", "dark"):
            dark(browser, scheme == "dark")
            await asyncio.to_thread(browser.get, url)
            shots.mkdir(parents=True, exist_ok=True)
            browser.save_screenshot(str(shots / f"dashboard-{scheme}.png"))
        backgrounds = []
        for scheme in (False, True):
            dark(browser, scheme)
            backgrounds.append(browser.execute_script("return getComputedStyle(document.body).backgroundColor"))
        dark(browser, False)
        assert backgrounds[0] != backgrounds[1]
        sizes = [(shots / f"dashboard-{s}.png").stat().st_size for s in ("light", "dark")]
        assert all(20_000 < s < 600_000 for s in sizes), sizes
        assert all((shots / f"dashboard-{s}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for s in ("light", "dark"))

        # -- the leaderboard: a class's rows and plot, the user's own results, the filter
        await asyncio.to_thread(browser.get, with_token(url, "/leaderboard", **{"class": "bugfix:2"}))
        cls = board["classes"]["bugfix:2"]
        rows = cells(browser, "board")
        assert [r[0] for r in rows] == [e["model"] for e in cls["models"]]
        counts = {m: (a, f) for m, a, f in db.all("SELECT model, SUM(outcome = 'accepted'), SUM(outcome != 'accepted')"
                                                   " FROM outcomes WHERE task_class = 'bugfix:2' GROUP BY model")}
        assert counts, "the seed has outcomes on bugfix:2"
        for row, e in zip(rows, cls["models"]):
            assert row[2] == f"{100 * e['rate']:.0f}%" and int(row[4]) == e["n"] and row[5].startswith(e["source"])
            assert usd(row[6]) == pytest.approx(e["costPerRequest"], abs=0.0005)
            if e["model"] in counts:
                a, f = counts[e["model"]]
                mine = posterior(e["rate"], a, f)
                assert row[8].startswith(f"{a} worked, {f} did not: {100 * mine.rate:.0f}%"), row
            else:
                assert row[8] == "-"
        points = {p["data-model"]: (float(p["data-rate"]), float(p["data-cost"]))
                  for p in marks(browser, "#board-plot circle[data-model]", "data-model", "data-rate", "data-cost")}
        assert set(points) == {e["model"] for e in cls["models"]}
        for e in cls["models"]:
            assert points[e["model"]] == pytest.approx((e["rate"], e["costPerRequest"]), abs=1e-4)
        for dial in ("bill", "bar"):
            line = browser.find_element(By.CSS_SELECTOR, f"#board-plot polyline[data-dial={dial}]")
            assert line.get_attribute("data-rungs").split() == cls["ladders"][dial]
        browser.find_element(By.NAME, "callable").click()
        submit(browser, browser.find_element(By.CSS_SELECTOR, "form.filters button"))
        callable_ = {m["id"] for m in board["models"] if m["callable"]}
        shown = [r[0] for r in cells(browser, "board")]
        assert shown == [e["model"] for e in cls["models"] if e["model"] in callable_] and len(shown) < len(rows)

        # -- decisions: the conversations, one conversation's cards, its replay
        await asyncio.to_thread(browser.get, with_token(url, "/decisions"))
        conversations = cells(browser, "conversations")
        since30 = (date.today() - timedelta(days=29)).isoformat()
        assert len(conversations) == db.one("SELECT COUNT(*) FROM (SELECT DISTINCT workspace, conversation FROM"
                                            " decisions WHERE day >= ?)", since30)
        longest = db.all("SELECT workspace, conversation FROM decisions GROUP BY 1, 2 ORDER BY COUNT(*) DESC,"
                         " MAX(time) DESC LIMIT 1")[0]
        await asyncio.to_thread(browser.get, with_token(url, "/decisions", workspace=longest[0],
                                                        conversation=longest[1]))
        kept = db.all("SELECT decision_id, model FROM decisions WHERE workspace = ? AND conversation = ?"
                      " ORDER BY time DESC", *longest)
        cards = marks(browser, "article.card", "data-decision", "data-model")
        assert [(c["data-decision"], c["data-model"]) for c in cards] == kept
        steps = marks(browser, "#replay tbody tr", "data-decision", "data-cost")
        cost = dict(db.all("SELECT decision_id, SUM(cost_usd) FROM requests WHERE workspace = ? AND conversation = ?"
                           " GROUP BY decision_id", *longest))
        assert {s["data-decision"]: float(s["data-cost"]) for s in steps} == pytest.approx(cost, abs=1e-6)
        assert usd(browser.find_element(By.ID, "actual-cost").text) == pytest.approx(sum(cost.values()), abs=5e-5)
        assert "Replay on bar" in browser.page_source
        assert not re.search(r"pool exhausted|tests still fail", browser.page_source)   # never kept


async def test_a_dial_changed_on_the_page_reaches_the_config_file_and_the_next_decision(tmp_path, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    home = seeded_home(tmp_path)
    text = {"text": "fix the failing test in cart.py: AssertionError: expected 3, got 2"}
    async with sidecar(home, env=sidecar_env()) as client:
        url = (await request(client, "kilo/dashboard", {"page": "settings"}))["url"]
        await asyncio.to_thread(browser.get, url)
        everywhere = browser.find_element(By.CSS_SELECTOR, "form.scope[data-scope='']")
        Select(everywhere.find_element(By.NAME, "dial")).select_by_value("bar")
        submit(browser, everywhere.find_element(By.TAG_NAME, "button"))
        assert browser.find_element(By.ID, "message").text == "Saved."
        assert tomllib.loads(config_path(home).read_text())["routing"] == {"dial": "bar", "tier": "efficient"}
        card = await request(client, "kilo/route", {**text, "workspaceUri": SHOP, "conversationId": "after"})
        on_bar = await request(client, "kilo/route", {**text, "workspaceUri": SHOP, "dial": "bar", "dryRun": True})
        assert card["dial"] == "bar" and card["ladder"] == on_bar["ladder"] and card["model"] == on_bar["model"]

        billing = browser.find_element(By.CSS_SELECTOR, f"form.scope[data-scope='{BILLING}']")
        Select(billing.find_element(By.NAME, "dial")).select_by_value("bill")
        submit(browser, billing.find_element(By.TAG_NAME, "button"))
        assert browser.find_element(By.ID, "message").text == "Saved."
        assert tomllib.loads(config_path(home).read_text())["workspaces"][BILLING]["routing"] == {"dial": "bill"}
        there = await request(client, "kilo/route", {**text, "workspaceUri": BILLING, "conversationId": "b"})
        here = await request(client, "kilo/route", {**text, "workspaceUri": SHOP, "conversationId": "s"})
        assert (there["dial"], here["dial"]) == ("bill", "bar")
        notes = browser.find_element(By.CSS_SELECTOR, f"form.scope[data-scope='{BILLING}'] ul").text
        assert "dial in force: bill (from user-file:" in notes


async def test_a_cross_origin_form_is_refused(tmp_path, browser):
    """A page on another origin that knows the URL, token and all, posts a form to the dashboard: refused."""
    home = seeded_home(tmp_path)
    async with sidecar(home, env=sidecar_env()) as client:
        url = (await request(client, "kilo/dashboard", {"page": "settings"}))["url"]
        token = url.split("token=")[1]
        target = with_token(url, "/settings")
        page = (f'<!doctype html><form method="post" action="{target}"><input name="token" value="{token}">'
                '<input name="scope" value=""><input name="dial" value="bar"><button id="go">go</button></form>').encode()

        class Attacker(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        evil = ThreadingHTTPServer(("127.0.0.1", 0), Attacker)
        threading.Thread(target=evil.serve_forever, daemon=True).start()
        try:
            await asyncio.to_thread(browser.get, f"http://127.0.0.1:{evil.server_address[1]}/")
            submit(browser, browser.find_element("id", "go"))
            assert "forbidden: cross-origin request" in browser.find_element("tag name", "body").text
        finally:
            evil.shutdown()
            evil.server_close()
        assert not config_path(home).exists()
        assert (await request(client, "kilo/route", {"text": "rename a to b", "dryRun": True}))["dial"] == "bill"
        assert fetch(url.split("?")[0])[0] == 403                     # and without the token, nothing at all
