"""Figures measured by the reliability tests, kept for RESULTS.md.

Set RELIABILITY_FIGURES to a folder to keep them (one JSON file per test module); otherwise
``record`` does nothing, so an ordinary test run writes no files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def record(name: str, figures: dict[str, Any]) -> None:
    folder = os.environ.get("RELIABILITY_FIGURES")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / f"{name}.json").write_text(json.dumps(figures, indent=2, sort_keys=True, default=str))
