"""The dashboard's plots as inline SVG, drawn on the server: spend per day, and cost against solved.

Colours come from the stylesheet (classes ``s0``..``s7``, ``ladder-bill``, ``ladder-bar``), so the plots
follow the page's light or dark scheme. Every mark carries its figure in ``data-*`` attributes and a
``<title>`` (the tooltip), which is also how the browser test reads them.
"""

from __future__ import annotations

import math

from ..protocol import ClassView, ModelView
from .figures import Day
from .markup import Markup, el, join

SERIES = 7          # models with a colour of their own; the rest are "other"
OTHER = "other"


def _nice(top: float) -> tuple[float, list[float]]:
    """An axis top at or above ``top`` and its ticks."""
    if top <= 0:
        return 1.0, [0.0, 0.25, 0.5, 0.75, 1.0]
    raw = top / 4
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    ticks = [step * i for i in range(0, 5) if step * i <= top + step * 0.999]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks[-1], ticks


def _usd(x: float) -> str:
    if x == 0:
        return "$0"
    if x < 0.01:
        return f"${x:.4f}"
    if x < 10:
        return f"${x:.2f}"
    return f"${x:,.0f}"


def series_of(models: list[str]) -> dict[str, str]:
    """Model -> its series (itself, or ``other``), in the order given (costliest first)."""
    return {m: (m if i < SERIES else OTHER) for i, m in enumerate(models)}


def spend_plot(days: list[Day], models: list[str]) -> Markup:
    """Stacked bars of each day's spend per model, with what the answered requests would have cost on
    Balanced and Frontier as lines."""
    w, h, left, right, top, bottom = 760, 260, 64, 12, 14, 24
    pw, ph = w - left - right, h - top - bottom
    series = series_of(models)
    names = list(dict.fromkeys(series.values()))
    peak = max([sum(d.by_model.values()) for d in days] + [d.frontier_cost_usd for d in days] +
               [d.balanced_cost_usd for d in days] + [0.0])
    ymax, ticks = _nice(peak)
    y = lambda v: top + ph - (v / ymax) * ph
    slot = pw / max(1, len(days))
    bar = max(2.0, slot * 0.7)
    parts: list[Markup] = []
    for t in ticks:
        parts.append(el("line", x1=left, x2=w - right, y1=f"{y(t):.1f}", y2=f"{y(t):.1f}", class_="grid"))
        parts.append(el("text", _usd(t), x=left - 6, y=f"{y(t) + 4:.1f}", class_="tick", text_anchor="end"))
    for i, d in enumerate(days):
        x = left + i * slot + (slot - bar) / 2
        base = 0.0
        stacked: dict[str, float] = {}
        for model, usd in sorted(d.by_model.items(), key=lambda kv: models.index(kv[0]) if kv[0] in models else 99):
            stacked[series.get(model, OTHER)] = stacked.get(series.get(model, OTHER), 0.0) + usd
        for name in names:
            usd = stacked.get(name, 0.0)
            if usd <= 0:
                continue
            y0, y1 = y(base), y(base + usd)
            parts.append(el("rect", el("title", f"{d.day} · {name}: {_usd(usd)}"), x=f"{x:.1f}", y=f"{y1:.1f}",
                            width=f"{bar:.1f}", height=f"{max(0.5, y0 - y1):.1f}",
                            class_=f"bar s{names.index(name) % 8}", data_day=d.day, data_model=name,
                            data_usd=f"{usd:.6f}"))
            base += usd
        if i % max(1, len(days) // 7) == 0 or i == len(days) - 1:
            parts.append(el("text", d.day[5:], x=f"{x + bar / 2:.1f}", y=h - bottom + 16, class_="tick",
                            text_anchor="middle"))
    for label, attr_name, cls in (("Balanced", "balanced_cost_usd", "line-balanced"),
                                  ("Frontier", "frontier_cost_usd", "line-frontier")):
        points = [(left + i * slot + slot / 2, y(getattr(d, attr_name))) for i, d in enumerate(days)]
        parts.append(el("polyline", points=" ".join(f"{px:.1f},{py:.1f}" for px, py in points), class_=cls))
        for (px, py), d in zip(points, days):
            value = getattr(d, attr_name)
            parts.append(el("circle", el("title", f"{d.day} · the same on {label}: {_usd(value)}"), cx=f"{px:.1f}",
                            cy=f"{py:.1f}", r=2.5, class_=f"dot {cls}", data_day=d.day, data_line=label.lower(),
                            data_usd=f"{value:.6f}"))
    legend = [el("span", el("span", class_=f"swatch s{i % 8}"), name, class_="key") for i, name in enumerate(names)]
    legend += [el("span", el("span", class_=f"swatch {cls}"), f"the same on {label}", class_="key")
               for label, cls in (("Balanced", "line-balanced"), ("Frontier", "line-frontier"))]
    svg = el("svg", *parts, viewBox=f"0 0 {w} {h}", class_="plot", role="img", id="spend-plot",
             aria_label="spend per day and model, with the same work on Balanced and Frontier")
    return el("figure", svg, el("figcaption", *legend, class_="legend"), class_="chart")


def board_plot(cls: ClassView, models: dict[str, ModelView], rows: list, balanced: str, frontier: str) -> Markup:
    """Each model's solved rate (with its confidence interval) against its cost per task (log scale),
    and the class's ladders for both dials as lines from rung to rung."""
    w, h, left, right, top, bottom = 760, 380, 56, 150, 16, 42
    pw, ph = w - left - right, h - top - bottom
    pts = [r for r in rows if r.cost_per_request is not None]
    if not pts:
        return el("p", "No row of this class has a cost per task to plot.", class_="note")
    positive = [r.cost_per_request for r in pts if r.cost_per_request > 0]
    lo = min(positive) / 1.5 if positive else 0.001
    hi = max(positive) * 1.5 if positive else 1.0
    lx0, lx1 = math.log10(lo), math.log10(hi)
    x = lambda c: left + (math.log10(max(c, lo)) - lx0) / (lx1 - lx0 or 1) * pw
    rmin = max(0.0, math.floor(min(r.ci_low for r in pts) * 10) / 10)
    rmax = min(1.0, math.ceil(max(r.ci_high for r in pts) * 10) / 10)
    if rmax - rmin < 0.2:
        rmax = min(1.0, rmin + 0.2)
    y = lambda v: top + ph - (v - rmin) / ((rmax - rmin) or 1) * ph
    parts: list[Markup] = []
    tick = rmin
    while tick <= rmax + 1e-9:
        parts.append(el("line", x1=left, x2=left + pw, y1=f"{y(tick):.1f}", y2=f"{y(tick):.1f}", class_="grid"))
        parts.append(el("text", f"{tick:.0%}", x=left - 6, y=f"{y(tick) + 4:.1f}", class_="tick", text_anchor="end"))
        tick = round(tick + 0.1, 10)
    decade = math.floor(lx0)
    while decade <= lx1:
        for m in (1, 2, 5):
            v = m * 10 ** decade
            if lo <= v <= hi:
                parts.append(el("line", x1=f"{x(v):.1f}", x2=f"{x(v):.1f}", y1=top, y2=top + ph, class_="grid"))
                parts.append(el("text", _usd(v), x=f"{x(v):.1f}", y=top + ph + 16, class_="tick", text_anchor="middle"))
        decade += 1
    parts.append(el("text", "cost per task on the benchmark (log scale)", x=left + pw / 2, y=h - 6, class_="axis",
                    text_anchor="middle"))
    parts.append(el("text", "solved", x=12, y=top + ph / 2, class_="axis", text_anchor="middle",
                    transform=f"rotate(-90 12 {top + ph / 2:.1f})"))
    at = {r.model: (x(r.cost_per_request), y(r.rate)) for r in pts}
    for i, dial in enumerate(("bill", "bar")):
        rungs = [m for m in cls.ladders.get(dial, []) if m in at]
        if len(rungs) >= 1:
            parts.append(el("polyline", points=" ".join(f"{at[m][0]:.1f},{at[m][1]:.1f}" for m in rungs),
                            class_=f"ladder ladder-{dial}", data_dial=dial, data_rungs=" ".join(rungs)))
            for n, m in enumerate(rungs, 1):
                parts.append(el("text", f"{dial} {n}", x=f"{at[m][0] + 6:.1f}",
                                y=f"{at[m][1] + (14 if i else -8):.1f}", class_=f"rung ladder-{dial}"))
    for r in pts:
        px, py = at[r.model]
        name = models[r.model].name if r.model in models else r.model
        role = " balanced" if r.model == balanced else " frontier" if r.model == frontier else ""
        can = r.model in models and models[r.model].callable
        parts.append(el("line", x1=f"{px:.1f}", x2=f"{px:.1f}", y1=f"{y(r.ci_low):.1f}", y2=f"{y(r.ci_high):.1f}",
                        class_="whisker"))
        parts.append(el("circle", el("title", f"{name}: {r.rate:.0%} solved ({r.ci_low:.0%}-{r.ci_high:.0%}, "
                                              f"n={r.n}), {_usd(r.cost_per_request)} per task"),
                        cx=f"{px:.1f}", cy=f"{py:.1f}", r=5 if role else 4,
                        class_=f"point{role}{' callable' if can else ''}", data_model=r.model,
                        data_rate=f"{r.rate:.4f}", data_cost=f"{r.cost_per_request:.6f}"))
    labelled = set(cls.ladders.get("bill", [])) | set(cls.ladders.get("bar", [])) | {balanced, frontier}
    for r in pts:
        if r.model in labelled:
            px, py = at[r.model]
            parts.append(el("text", r.model, x=f"{px + 8:.1f}", y=f"{py + 4:.1f}", class_="label"))
    key_x = left + pw + 16
    legend = [el("text", "ladders", x=key_x, y=top + 10, class_="legend")]
    for i, dial in enumerate(("bill", "bar")):
        legend.append(el("line", x1=key_x, x2=key_x + 18, y1=top + 26 + 18 * i, y2=top + 26 + 18 * i,
                         class_=f"ladder ladder-{dial}"))
        legend.append(el("text", dial, x=key_x + 24, y=top + 30 + 18 * i, class_="legend"))
    legend.append(el("circle", cx=key_x + 9, cy=top + 72, r=5, class_="point balanced"))
    legend.append(el("text", "Balanced", x=key_x + 24, y=top + 76, class_="legend"))
    legend.append(el("circle", cx=key_x + 9, cy=top + 90, r=5, class_="point frontier"))
    legend.append(el("text", "Frontier", x=key_x + 24, y=top + 94, class_="legend"))
    legend.append(el("circle", cx=key_x + 9, cy=top + 108, r=4, class_="point callable"))
    legend.append(el("text", "you can call it", x=key_x + 24, y=top + 112, class_="legend"))
    return el("svg", join(parts), *legend, viewBox=f"0 0 {w} {h}", class_="plot", role="img", id="board-plot",
              aria_label=f"cost per task against solved rate on {cls.label}")
