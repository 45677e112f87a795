"""A few weeks of editor use, recorded in a real ledger by the real code paths (deterministic).

Conversations are routed by the real engine (``Engine.route``, with the user's keys for a few
providers); each decision is kept with ``Ledger.record_decision`` as the sidecar keeps it; each answer
is charged with ``Ledger.record`` at list prices on tokens drawn around the card's estimate, as the
forwarder records them (a failover now and then: a failed attempt, then the next rung answering);
outcomes come from ``Engine.feedback`` and the next turn, kept with ``Ledger.record_outcome``. Only the
times are moved back into the past. Run it alone to make a ledger to look at:
``python tests/seed_ledger.py /tmp/ledger.sqlite3``.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import msgspec

from kilo_lsp.config import ConfigStore
from kilo_lsp.ledger.store import Ledger, LedgerEntry
from kilo_lsp.protocol import FeedbackParams, RouteParams, Turn
from kilo_lsp.routing.engine import Engine

#: Fake keys: they make these providers' models callable; nothing is ever sent anywhere.
SEED_KEYS = {"ANTHROPIC_API_KEY": "sk-ant-seed", "OPENAI_API_KEY": "sk-seed", "DEEPSEEK_API_KEY": "sk-seed",
             "GEMINI_API_KEY": "seed", "MINIMAX_API_KEY": "seed"}
WORKSPACES = ("file:///home/dev/shop", "file:///home/dev/billing-api",
              'file:///home/dev/<img src=x onerror="alert(1)">&co')

FIRST_TURNS = [
    "rename total to sum_all in cart.py",
    "add a docstring to parse_order",
    "why does checkout return None when the cart is empty?",
    "fix this bug: Traceback (most recent call last):\n  File \"app/db.py\", line 42, in connect\n"
    "    pool.acquire()\nTimeoutError: pool exhausted",
    "write unit tests for the invoice rounding in billing/tax.py",
    "add a CSV export endpoint for orders with pagination and auth checks",
    "refactor the payment module to split the provider adapters into their own classes",
    "plan the migration of the order service from sync SQLAlchemy to async, with a rollout plan",
    "the CI build fails on the lint step after upgrading ruff, fix the config",
    "review this diff for race conditions in the cache invalidation",
    "make the product search query faster, it scans the whole table",
    "TypeError: unsupported operand type(s) for +: 'NoneType' and 'int' in report.py line 88, fix it",
]
FOLLOW_UPS = [
    ("still failing with the same error", "failed"),
    ("that didn't work, the test still fails", "failed"),
    ("thanks, now also handle the empty case", "continue"),
    ("looks good, add a test for it too", "continue"),
]


@dataclass
class Seeded:
    engine: Engine
    decisions: int = 0
    attempts: int = 0
    outcomes: int = 0
    conversations: list[tuple[str, str]] = field(default_factory=list)


def _at(day: date, minute: int) -> datetime:
    """A local time on ``day`` (the ledger's days are local dates), as an aware datetime."""
    local = datetime(day.year, day.month, day.day, 9, 0) + timedelta(minutes=minute)
    return local.astimezone().astimezone(timezone.utc)


def seed(path: Path, days: int = 21, today: date | None = None, config_dir: Path | None = None,
         seed_value: int = 17) -> Seeded:
    """Fill the ledger at ``path`` with ``days`` days of use ending today."""
    rng = random.Random(seed_value)
    today = today or datetime.now().astimezone().date()
    user_file = (config_dir or path.parent) / "seed-config.toml"
    engine = Engine(config=ConfigStore(env=dict(SEED_KEYS), user_file=user_file))
    ledger = Ledger(path)
    out = Seeded(engine)
    now: dict[str, datetime] = {"t": _at(today, 0)}
    engine.on_decision = lambda rec: _keep_decision(ledger, rec, now["t"], out)

    def keep_outcome(record) -> None:
        ledger.record_outcome(record, when=now["t"])
        out.outcomes += 1
    engine.on_outcome = keep_outcome
    board = engine.leaderboard()
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        minute = rng.randrange(0, 60)
        for c in range(rng.randint(1, 3)):
            workspace = WORKSPACES[0] if rng.random() < 0.55 else WORKSPACES[1]
            if back % 9 == 4 and c == 0:
                workspace = WORKSPACES[2]
            conversation = f"chat-{day.isoformat()}-{c}"
            out.conversations.append((workspace, conversation))
            turns: list[Turn] = []
            text = rng.choice(FIRST_TURNS)
            for n in range(rng.randint(1, 5)):
                minute += rng.randint(2, 25)
                now["t"] = _at(day, minute)
                card = engine.route(RouteParams(text=text, conversation_id=conversation, workspace_uri=workspace,
                                                turns=list(turns)))
                _charge(ledger, board, card, rng, now["t"], out, n)
                turns += [Turn("user", text), Turn("assistant", "(answer)")]
                if rng.random() < 0.18:         # the user says the answer did not work
                    engine.feedback(FeedbackParams(card.decision_id, "failed", "the tests still fail"))
                    text = "try again, it still fails"
                    continue
                follow, kind = rng.choice(FOLLOW_UPS) if rng.random() < 0.7 else (rng.choice(FIRST_TURNS), "new")
                text = follow
    ledger.close()
    return out


def _keep_decision(ledger: Ledger, rec, when: datetime, out: Seeded) -> None:
    ledger.record_decision(msgspec.structs.replace(rec, time=when.isoformat(timespec="milliseconds")))
    out.decisions += 1


def _charge(ledger: Ledger, board, card, rng: random.Random, when: datetime, out: Seeded, turn: int) -> None:
    """Record the answer to a decision as the forwarder would: one row per attempt, at list prices."""
    models = [card.model]
    if rng.random() < 0.08:             # the first route fails before its first token: the next one answers
        models = [card.model, card.next_rung.model if card.next_rung else board.balanced]
    for attempt, model_id in enumerate(models):
        ok = attempt == len(models) - 1
        input_tokens = int(card.estimated_input_tokens * rng.uniform(20, 80)) + 8000 if ok else 0
        cached = int(input_tokens * rng.uniform(0.4, 0.8)) if ok and turn > 0 else 0
        output_tokens = int(card.estimated_output_tokens * rng.uniform(0.5, 1.6)) if ok else 0
        tokens = (input_tokens, output_tokens, cached)
        ledger.record(LedgerEntry(
            decision_id=card.decision_id, attempt=attempt, model=model_id, provider="seed",
            outcome="ok" if ok else "error", workspace=card.workspace, conversation=card.conversation_id,
            input_tokens=input_tokens, cached_input_tokens=cached, output_tokens=output_tokens,
            cost_usd=board.models[model_id].prices.cost(*tokens),
            balanced_cost_usd=board.models[board.balanced].prices.cost(*tokens),
            frontier_cost_usd=board.models[board.frontier].prices.cost(*tokens), time=when))
        out.attempts += 1


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "ledger.sqlite3")
    s = seed(target)
    print(f"{target}: {s.decisions} decisions, {s.attempts} attempts, {s.outcomes} outcomes, "
          f"{len(s.conversations)} conversations")
