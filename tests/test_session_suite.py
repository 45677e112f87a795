"""The session suite (bench/sessions/) is well formed, and its runner scores the real sidecar."""

from __future__ import annotations

import csv
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from kilo_lsp.taxonomy import DIFFICULTIES, TASK_TYPES

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "bench" / "sessions"
LABEL_KEYS = {"task_type", "difficulty", "same_task", "trivial", "previous_failed"}


def load_runner():
    spec = importlib.util.spec_from_file_location("bench_sessions_runner", ROOT / "bench" / "sessions.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def all_sessions() -> list[tuple[Path, dict]]:
    return [(p.parent, json.loads(p.read_text(encoding="utf-8"))) for p in sorted(SUITE.glob("*/session.json"))]


def inside(rng: dict, lines: list[str]) -> bool:
    (s, e) = rng["start"], rng["end"]
    if (s["line"], s["character"]) > (e["line"], e["character"]):
        return False
    return all(0 <= p["line"] < len(lines) and 0 <= p["character"] <= len(lines[p["line"]]) for p in (s, e))


def test_the_suite_is_large_and_varied():
    sessions = all_sessions()
    assert len(sessions) >= 30
    assert len({s["language"] for _, s in sessions}) >= 5
    turns = [t for _, s in sessions for t in s["turns"]]
    assert {t["labels"]["task_type"] for t in turns} == set(TASK_TYPES)
    assert {t["labels"]["difficulty"] for t in turns} == set(DIFFICULTIES)
    assert all(sum(t["labels"][k] for t in turns) > 0 for k in ("same_task", "trivial", "previous_failed"))


@pytest.mark.parametrize("folder,session", all_sessions(), ids=lambda v: v.name if isinstance(v, Path) else "")
def test_session_is_well_formed(folder: Path, session: dict):
    assert session["name"] == folder.name
    assert session["language"] and session["shape"] and session["summary"]
    files_dir = folder / "files"
    on_disk = sorted(str(p.relative_to(files_dir)) for p in files_dir.rglob("*") if p.is_file())
    assert session["files"] == on_disk
    assert 1 <= len(on_disk) <= 4
    text = {rel: (files_dir / rel).read_text(encoding="utf-8").split("\n") for rel in on_disk}
    assert all(20 <= len((files_dir / rel).read_text(encoding="utf-8").splitlines()) <= 200 for rel in on_disk)
    assert 3 <= len(session["turns"]) <= 7
    for i, turn in enumerate(session["turns"]):
        where = f"{session['name']} turn {i + 1}"
        assert turn["text"].strip(), where
        labels = turn["labels"]
        assert set(labels) == LABEL_KEYS, where
        assert labels["task_type"] in TASK_TYPES, where
        assert labels["difficulty"] in DIFFICULTIES, where
        assert all(isinstance(labels[k], bool) for k in ("same_task", "trivial", "previous_failed")), where
        if i == 0:
            assert not labels["same_task"] and not labels["previous_failed"], where
        if labels["previous_failed"]:
            assert labels["same_task"], f"{where}: a failed previous answer is reported on the same task"
        if labels["trivial"]:
            assert labels["difficulty"] == 1, where
        ctx = turn["context"]
        assert all(r in text for r in ctx.get("referencedUris", [])), where
        active = ctx.get("activeUri")
        if active is None:
            assert "selection" not in ctx and "diagnostics" not in ctx, where
            continue
        assert active in text, where
        assert ctx["languageId"], where
        if "selection" in ctx:
            assert inside(ctx["selection"], text[active]), f"{where}: selection outside {active}"
        for d in ctx.get("diagnostics", []):
            assert d["message"] and d["severity"] in (1, 2, 3, 4), where
            assert inside(d["range"], text[active]), f"{where}: diagnostic outside {active}"


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _training_texts() -> list[str]:
    """Every text the classifiers are trained on from the project's own files (training/data)."""
    texts: list[str] = []
    for path in sorted((ROOT / "training" / "data").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts.extend([row["text"]] if "text" in row else [t["text"] for t in row["turns"]])
                texts.extend(row.get("previous", []))
    return texts


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _norm(text).split()
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def test_no_turn_is_a_training_example():
    """The suite is an evaluation set: none of its turns is among the training texts, word for word or
    nearly (most of its three-word runs in one training text)."""
    texts = _training_texts()
    assert texts
    trained = {_norm(t) for t in texts}
    leaked = [t["text"] for _, s in all_sessions() for t in s["turns"] if _norm(t["text"]) in trained]
    assert not leaked
    index: dict[tuple[str, ...], set[int]] = {}
    for i, text in enumerate(texts):
        for sh in _shingles(text):
            index.setdefault(sh, set()).add(i)
    near = []
    for _, session in all_sessions():
        for turn in session["turns"]:
            mine = _shingles(turn["text"])
            if len(mine) < 4:
                continue
            hits: dict[int, int] = {}
            for sh in mine:
                for i in index.get(sh, ()):
                    hits[i] = hits.get(i, 0) + 1
            if hits and max(hits.values()) / len(mine) > 0.6:
                near.append(turn["text"])
    assert not near


def test_readme_counts_match_the_suite():
    readme = (SUITE / "README.md").read_text(encoding="utf-8")
    sessions = all_sessions()
    turns = [t for _, s in sessions for t in s["turns"]]
    assert f"**{len(sessions)} sessions, {len(turns)} turns.**" in readme
    for task_type in TASK_TYPES:
        counts = [sum(t["labels"]["task_type"] == task_type and t["labels"]["difficulty"] == d for t in turns)
                  for d in DIFFICULTIES]
        assert f"| {task_type} | " + " | ".join(map(str, counts)) + f" | {sum(counts)} |" in readme, task_type
    assert all(f"| `{s['name']}` |" in readme for _, s in sessions)


def test_spearman_with_ties():
    runner = load_runner()
    assert runner.ranks([3, 1, 3, 2]) == [3.5, 1.0, 3.5, 2.0]
    assert runner.spearman([1, 2, 3, 4], [1, 2, 3, 4]) == pytest.approx(1.0)
    assert runner.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # x ranks 1.5 1.5 3 4, y ranks 1 2.5 2.5 4: Pearson on the ranks
    assert runner.spearman([1, 1, 2, 3], [1, 2, 2, 3]) == pytest.approx(5 / 6)
    assert runner.spearman([2, 2, 2], [1, 2, 3]) is None


def test_runner_scores_two_sessions_against_the_real_sidecar(tmp_path):
    runner = load_runner()
    sessions = runner.load_sessions(only=["go-cache-nil-map", "kt-sync-supervisor"])
    report = runner.run(sessions, runner.SCENARIOS, tmp_path)
    n = sum(len(s["turns"]) for s in sessions)
    results = report["results"]
    assert set(results) == set(runner.SCENARIOS)
    for name, m in results.items():
        assert m["turns"] == n, name
        assert 0 <= m["type_accuracy"] <= 1, name
        assert sum(m["difficulty"]["predicted"].values()) == n, name
        assert m["stuck"]["eligible"] == 3, name          # the new tasks whose labelled type changes
        assert m["trivial"]["turns"] == 1, name
        assert m["cost"]["balanced_usd"] > 0, name
        assert all(c["ok"] == c["checked"] for c in m["context_checks"].values()), (name, m["context_checks"])
        assert m["context_checks"]["workspace"]["checked"] == n, name
    assert results["all-keys"]["not_callable"] == 0
    local_models = [model for model in results["local-only"]["models"] if model.startswith("local/")]
    assert local_models, results["local-only"]["models"]

    saved = json.loads((tmp_path / "sessions.json").read_text(encoding="utf-8"))
    assert saved["suite"]["sessions"] == 2 and saved["suite"]["turns"] == n
    assert set(saved["met"]["all-keys"]) == set(runner.TARGETS)
    with open(tmp_path / "sessions_turns.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == n * len(runner.SCENARIOS)
    assert {"session", "turn", "task_type", "predicted_type", "model", "reason_code", "estimated_cost_usd",
            "balanced_cost_usd"} <= set(rows[0])
    md = (tmp_path / "sessions.md").read_text(encoding="utf-8")
    assert "| task type accuracy |" in md and ">= 0.75" in md

