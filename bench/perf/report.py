"""Collect figures and targets; render the Markdown table and the JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    s = sorted(values)
    if not s:
        return float("nan")
    k = max(0, min(len(s) - 1, int(round(q / 100 * len(s) + 0.5)) - 1))
    return s[k]


def median(values: list[float]) -> float:
    s = sorted(values)
    n = len(s)
    if n == 0:
        return float("nan")
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


@dataclass
class Row:
    section: str
    figure: str
    value: float
    unit: str
    baseline: str = ""
    baseline_value: float | None = None
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass
class Report:
    quick: bool = False
    rows: list[Row] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    def add(self, section: str, figure: str, value: float, unit: str, *, baseline: str = "",
            baseline_value: float | None = None, target: str = "", met: bool | None = None, note: str = "") -> None:
        self.rows.append(Row(section, figure, value, unit, baseline, baseline_value, target, met, note))
        shown = f"{value:.3f} {unit}" + (f" (baseline {baseline_value:.3f})" if baseline_value is not None else "")
        print(f"   {figure}: {shown}" + (f"  target {target}: {'met' if met else 'MISSED'}" if target else ""),
              flush=True)

    def note(self, section: str, text: str) -> None:
        self.notes.setdefault(section, []).append(text)

    def skip(self, section: str, why: str) -> None:
        self.skipped[section] = why
        print(f"   skipped: {why}", flush=True)

    def all_met(self) -> bool:
        return all(r.met is not False for r in self.rows)

    def markdown(self) -> str:
        out = ["# kilo-lsp performance, side by side", "",
               f"Measured by `make bench` (`python -m bench.perf{' --quick' if self.quick else ''}`) on "
               f"{self.meta.get('cpus', '?')} CPUs, Python {self.meta.get('python', '?')}, {self.meta.get('date', '')}; "
               f"the run took {self.meta.get('wall_seconds', '?')} s"
               + (f" (1-minute load average {self.meta['load_average'][0]} at the start, "
                  f"{self.meta['load_average'][1]} at the end: absolute times include that contention)"
                  if self.meta.get("load_average") else "")
               + ". Each figure is measured against its "
               "baseline in the same run, alternating between the two, so that other load on the machine "
               "hits both alike. Latencies are medians unless a percentile is named.", "",
               "| section | figure | value | baseline | target | met |",
               "|---|---|---|---|---|---|"]
        for r in self.rows:
            base = f"{r.baseline}: {_fmt(r.baseline_value, r.unit)}" if r.baseline_value is not None else r.baseline
            met = "" if r.met is None else ("yes" if r.met else "**no**")
            figure = f"{r.figure} ({r.note})" if r.note else r.figure
            out.append(f"| {r.section} | {figure} | {_fmt(r.value, r.unit)} | {base} | {r.target} | {met} |")
        for section, why in self.skipped.items():
            out.append(f"| {section} | not measured | — | — | — | — |")
        out.append("")
        for section, notes in self.notes.items():
            for n in notes:
                out.append(f"- **{section}**: {n}")
        for section, why in self.skipped.items():
            out.append(f"- **{section}** not measured: {why}")
        out += ["", "## Reproduce", "",
                "```sh", "make bench                                   # or: python -m bench.perf",
                "python -m bench.perf --only route,typing       # some sections (prints, does not write)",
                "```", "",
                "Baselines: `bench/perf/bare_server.py` is a bare pygls server (same pygls, same stdio "
                "transport, same incremental text sync) with one no-op request `bench/noop`; forwarding "
                "is compared with a direct HTTP client streaming from the same upstream server. "
                "The client is a raw Content-Length framer (`bench/perf/framer.py`), so it adds little "
                "of its own to any figure.", ""]
        return "\n".join(out)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Report":
        """Rebuild a report from perf.json (to render it again)."""
        return cls(quick=data.get("quick", False), rows=[Row(**r) for r in data["rows"]],
                   skipped=data.get("skipped", {}), notes=data.get("notes", {}), meta=data.get("meta", {}))

    def as_json(self) -> dict[str, Any]:
        return {"meta": self.meta, "quick": self.quick, "rows": [asdict(r) for r in self.rows],
                "skipped": self.skipped, "notes": self.notes, "all_met": self.all_met()}


def _fmt(v: float | None, unit: str) -> str:
    if v is None:
        return ""
    if unit in ("x",):
        return f"{v:.2f}x"
    if unit == "ms":
        return f"{v:.3f} ms" if v < 10 else f"{v:.1f} ms"
    if unit == "MB":
        return f"{v:.1f} MB"
    if unit in ("chunks/s",):
        return f"{v:,.0f} {unit}"
    return f"{v:g} {unit}"
