"""Run the side-by-side performance benchmarks and write bench/results/perf.md and perf.json.

Every figure is measured against a baseline in the same run, on the same machine, alternating
between the two so that load from other processes hits both alike. Usage::

    python -m bench.perf            # everything (a few minutes)
    python -m bench.perf --quick    # fewer repetitions, for a smoke run
    python -m bench.perf --only startup,route
    python -m bench.perf --only forwarding,relay,concurrency --sidecar ../other-checkout
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from . import sections
from .report import Report

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results"
ORDER = ["imports", "startup", "route", "classifier", "typing", "memory", "forwarding", "relay", "concurrency"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.perf", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run, figures are rougher)")
    ap.add_argument("--only", default="", help=f"comma-separated sections: {','.join(ORDER)}")
    ap.add_argument("--no-write", action="store_true", help="print the table only")
    ap.add_argument("--sidecar", type=Path, default=None,
                    help="forward through the sidecar of another checkout (run with its own .venv) in the "
                         "forwarding, relay and concurrency sections; prints only")
    ap.add_argument("--render", action="store_true", help="render perf.md again from perf.json, measure nothing")
    args = ap.parse_args(argv)
    if args.render:
        report = Report.from_json(json.loads((RESULTS / "perf.json").read_text()))
        (RESULTS / "perf.md").write_text(report.markdown())
        return 0
    only = [s for s in args.only.split(",") if s] or ORDER
    for s in only:
        if s not in ORDER:
            ap.error(f"unknown section {s!r}")
    report = Report(quick=args.quick)
    load_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kilo-perf-") as home:
        ctx = sections.Context(home=Path(home), quick=args.quick, report=report,
                               sidecar_root=(args.sidecar or sections.ROOT).resolve())
        for name in ORDER:
            if name not in only:
                continue
            started = time.perf_counter()
            print(f"== {name}", file=sys.stderr, flush=True)
            try:
                getattr(sections, name)(ctx)
            except sections.Skip as exc:
                report.skip(name, str(exc))
            print(f"   {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
        ctx.close()
    report.meta.update(python=platform.python_version(), machine=platform.machine(),
                       cpus=os.cpu_count(), wall_seconds=round(time.perf_counter() - t0, 1),
                       date=time.strftime("%Y-%m-%d"),
                       load_average=[round(load_start, 2), round(os.getloadavg()[0], 2)])
    table = report.markdown()
    print(table)
    if not args.no_write and not args.only and not args.sidecar:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "perf.md").write_text(table)
        (RESULTS / "perf.json").write_text(json.dumps(report.as_json(), indent=2) + "\n")
        print(f"wrote {RESULTS.relative_to(ROOT)}/perf.md and perf.json", file=sys.stderr)
    return 0 if report.all_met() else 1


if __name__ == "__main__":
    sys.exit(main())
