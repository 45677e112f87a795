"""The dashboard's pages as HTML: usage and savings, the leaderboard, decisions and their replay, the
dial and tier. Every string is escaped by ``markup.el``; links carry the token; forms work without
script (filters are GET forms, settings a POST form)."""

from __future__ import annotations

from dataclasses import dataclass

from ..routing.replay import DecisionRecord, other_dial
from .figures import (PERIODS, BoardFigures, ConversationFigures, PeriodReplay, ScopeSettings, UsageFigures)
from .markup import Markup, el, href, join
from .plots import board_plot, spend_plot

TITLE = "kilo-lsp dashboard"
NAV = (("/", "Usage and savings"), ("/leaderboard", "Leaderboard"), ("/decisions", "Decisions"),
       ("/settings", "Dial and tier"))
TIERS = ("efficient", "balanced", "frontier", "free")
DIALS = ("bill", "bar")


@dataclass(frozen=True)
class Context:
    """What every page needs: the token for its links and forms, and where it is served from."""

    token: str
    served_by: str          # "the sidecar" or "kilo-lsp dashboard"

    def link(self, path: str, **query: object) -> str:
        return href(path, **query, token=self.token)


def usd(x: float | None, digits: int | None = None) -> str:
    if x is None:
        return "-"
    if digits is not None:
        return f"${x:,.{digits}f}"
    if abs(x) < 0.01 and x != 0:
        return f"${x:.4f}"
    return f"${x:,.2f}"


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def page(ctx: Context, current: str, title: str, *body: Markup) -> bytes:
    nav = el("nav", *[el("a", label, href=ctx.link(path), class_="here" if path == current else None)
                      for path, label in NAV])
    doc = Markup("<!doctype html>") + el(
        "html",
        el("head", el("meta", charset="utf-8"), el("meta", name="viewport", content="width=device-width, initial-scale=1"),
           el("meta", name="color-scheme", content="light dark"), el("meta", name="referrer", content="same-origin"),
           el("title", f"{title} · {TITLE}"), el("link", rel="icon", href="data:,"),
           el("link", rel="stylesheet", href=ctx.link("/static/dashboard.css"))),
        el("body", el("header", el("h1", TITLE), nav), el("main", el("h2", title), *body),
           el("footer", f"Served by {ctx.served_by} on this machine only. Figures come from your own ledger; "
                        "the page never shows or takes an API key.")),
        lang="en")
    return doc.encode("utf-8")


def table(header: list[str], rows: list[list[object]], id: str | None = None, numeric: set[int] = frozenset(),
          row_attrs: list[dict[str, object]] | None = None) -> Markup:
    head = el("thead", el("tr", *[el("th", h, class_="num" if i in numeric else None) for i, h in enumerate(header)]))
    body = el("tbody", *[el("tr", *[el("td", c, class_="num" if i in numeric else None) for i, c in enumerate(r)],
                            attr=(row_attrs[n] if row_attrs else None)) for n, r in enumerate(rows)])
    return el("table", head, body, id=id)


def stat(label: str, value: str, id: str, note: str = "") -> Markup:
    return el("div", el("div", label, class_="label"), el("div", value, class_="value", id=id),
              el("div", note, class_="note") if note else "", class_="stat")


# -- usage and savings ---------------------------------------------------------------------------
def usage_page(ctx: Context, u: UsageFigures, r: PeriodReplay) -> bytes:
    period = el("form", el("input", type="hidden", name="token", value=ctx.token),
                el("label", "Period ", el("select", *[el("option", f"last {p} days", value=p, selected=p == u.period)
                                                      for p in PERIODS], name="days")),
                el("button", "Show", type="submit"), method="get", action="/", class_="filters")
    if not u.has_ledger:
        return page(ctx, "/", "Usage and savings", period,
                    el("p", "Nothing recorded yet: the ledger fills as the sidecar forwards requests (kilo/complete).",
                       class_="note"))
    t = u.total
    stats = el("div",
               stat("Spent", usd(t.cost_usd), "spent", f"{t.requests} requests, {u.since} to {u.today}"),
               stat("The same on Balanced", usd(t.balanced_cost_usd), "balanced-cost",
                    f"saved {usd(u.saved_vs_balanced_usd)}"),
               stat("The same on Frontier", usd(t.frontier_cost_usd), "frontier-cost",
                    f"saved {usd(u.saved_vs_frontier_usd)}"),
               stat("Escalations", str(u.escalations), "escalations", f"of {u.decisions} decisions"),
               stat("Answers that did not work", str(u.failed), "failed", f"{u.accepted} worked"),
               stat("Failed attempts", str(t.errors), "failovers", "answered by the next route"),
               class_="stats")
    models = list(u.models)
    day_rows = [[d.day, usd(sum(d.by_model.values()), 4), usd(d.balanced_cost_usd, 4), usd(d.frontier_cost_usd, 4),
                 d.decisions, d.escalations, d.failed, d.failovers] for d in reversed(u.days)]
    day_attrs = [{"data-day": d.day} for d in reversed(u.days)]
    model_rows = [[m, x.answered, usd(x.cost_usd, 4), pct(x.answered / t.answered if t.answered else None),
                   usd(x.balanced_cost_usd, 4), usd(x.frontier_cost_usd, 4)] for m, x in u.models.items()]
    ws_rows = []
    for w in u.workspaces:
        budget = "none set" if w.budget_usd <= 0 else usd(w.budget_usd)
        ws_rows.append([el("a", w.workspace, href=ctx.link("/decisions", workspace=w.workspace)), w.totals.answered,
                        usd(w.totals.cost_usd, 4), usd(w.totals.balanced_cost_usd, 4), usd(w.totals.frontier_cost_usd, 4),
                        budget, usd(w.spent_today_usd, 4),
                        "-" if w.left_today_usd is None else usd(w.left_today_usd, 4)])
    replay_note = ""
    if r.decisions:
        parts = [f"{n} decisions on {dial}: {usd(cost)} instead of {usd(c)}" for dial, (n, c, cost) in r.by_dial.items()]
        replay_note = el("p", f"The other dial, over the {r.conversations} conversations of the period: "
                              + "; ".join(parts) + f" ({r.changed} decisions would have gone to another model). ",
                         el("a", "See each conversation", href=ctx.link("/decisions")), ".", id="period-replay")
    return page(ctx, "/", "Usage and savings", period, stats,
                el("h3", "Spend per day"), spend_plot(u.days, models),
                el("p", "Balanced and Frontier: what the requests that were answered would have cost with the same "
                        "tokens on the Balanced and the Frontier model.", class_="note"),
                replay_note,
                el("h3", "Per workspace"),
                table(["workspace", "answered", "spent", "on Balanced", "on Frontier", "daily budget", "spent today",
                       "left today"], ws_rows, id="workspaces", numeric={1, 2, 3, 4, 6, 7}),
                el("h3", "Per model"),
                table(["model", "answered", "spent", "share of answers", "same tokens on Balanced",
                       "on Frontier"], model_rows, id="models", numeric={1, 2, 3, 4, 5}),
                el("h3", "Per day"),
                table(["day", "spent", "on Balanced", "on Frontier", "decisions", "escalations",
                       "answers that did not work", "failed attempts"], day_rows, id="days",
                      numeric={1, 2, 3, 4, 5, 6, 7}, row_attrs=day_attrs))


# -- the leaderboard -------------------------------------------------------------------------------
def leaderboard_page(ctx: Context, b: BoardFigures) -> bytes:
    view, cls = b.board, b.cls
    options = [el("option", f"{key} · {c.label[:70]}", value=key, selected=key == b.class_key)
               for key, c in view.classes.items()]
    filters = el("form", el("input", type="hidden", name="token", value=ctx.token),
                 el("label", "Class ", el("select", *options, name="class")),
                 el("label", el("input", type="checkbox", name="callable", value="1", checked=b.callable_only),
                    " only models I can call"),
                 el("button", "Show", type="submit"), method="get", action="/leaderboard", class_="filters")
    rows, attrs = [], []
    for r in b.rows:
        m = b.models.get(r.model)
        yours = "-" if r.yours is None else (f"{r.yours.accepted} worked, {r.yours.failed} did not: "
                                             f"{pct(r.yours.rate)} ({pct(r.yours.low)}-{pct(r.yours.high)})")
        rungs = [f"{dial} {lad.index(r.model) + 1}" for dial, lad in cls.ladders.items() if r.model in lad]
        rows.append([r.model, m.name if m else "", pct(r.rate), f"{pct(r.ci_low)}–{pct(r.ci_high)}", r.n,
                     r.source + (" (borrowed)" if r.borrowed else ""),
                     "-" if r.cost_per_request is None else usd(r.cost_per_request, 3),
                     f"${m.prices.input:g} / ${m.prices.output:g}" if m else "-", yours, ", ".join(rungs) or "",
                     (m.provider or "yes") if m and m.callable else "no"])
        attrs.append({"data-model": r.model, "data-rate": f"{r.rate:.4f}"})
    ladders = [el("li", el("strong", dial), ": ", " > ".join(lad),
                   f" (chosen on {cls.ladder_tasks} tasks of {cls.ladder_source})" if cls.ladder_source else "")
               for dial, lad in cls.ladders.items()]
    src = view.sources.get(cls.source)
    about = [el("p", f"{cls.label}. Its own source: ", el("strong", src.label if src else cls.source),
                f", {cls.n_tasks} tasks.", class_="note")]
    if cls.borrowed:
        about.append(el("p", "Borrowed evidence: ", cls.borrowed, class_="note"))
    none_callable = b.callable_only and not b.rows
    return page(ctx, "/leaderboard", "Leaderboard", filters, *about,
                el("p", f"Balanced: {view.balanced} · Frontier: {view.frontier} · leaderboard {view.version}, "
                        f"{view.path} · {view.confidence_level:.0%} confidence bounds", class_="note"),
                el("ul", *ladders, class_="ladders"),
                board_plot(cls, b.models, b.rows, view.balanced, view.frontier),
                el("p", "No model you can call has a row on this class: add a key or a local server, or show "
                        "every model.", class_="note") if none_callable else "",
                table(["model", "name", "solved", "bounds", "n", "source", "cost per task", "$/M tokens in / out",
                       "yours", "ladder rung", "you can call it"], rows, id="board", numeric={2, 4, 6},
                      row_attrs=attrs),
                el("p", "Yours: your own answers on this class and model, and the benchmark's rate updated with them "
                        "(the benchmark counts as 10 answers), with an 80% interval.", class_="note"),
                el("h3", "Sources"),
                table(["source", "benchmark", "scaffold", "tasks", "cost", "licence"],
                      [[s.label, s.benchmark, s.scaffold, s.tasks, s.cost, s.licence] for s in view.sources.values()],
                      id="sources", numeric={3}))


# -- decisions --------------------------------------------------------------------------------------
def conversations_page(ctx: Context, convs: list[dict], period: int, workspace: str | None) -> bytes:
    rows = [[el("a", c["conversation"], href=ctx.link("/decisions", workspace=c["workspace"],
                                                       conversation=c["conversation"])),
             c["workspace"], c["decisions"], c["escalations"], ", ".join(c["models"]), usd(c["cost_usd"], 4),
             c["last"][:16].replace("T", " ") + " UTC"]
            for c in convs if workspace is None or c["workspace"] == workspace]
    body: list[Markup] = [el("p", f"Conversations with decisions in the last {period} days, latest first. Each one "
                                  "shows its decision cards and what the other dial would have chosen.", class_="note")]
    if not rows:
        body.append(el("p", "No decisions kept yet: the sidecar keeps each decision it makes (not dry runs).",
                       class_="note"))
    else:
        body.append(table(["conversation", "workspace", "decisions", "escalations", "models", "spent", "last"], rows,
                          id="conversations", numeric={2, 3, 5}))
    return page(ctx, "/decisions", "Decisions", *body)


def _card(ctx: Context, r: DecisionRecord) -> Markup:
    flags = [n for n, on in (("continues the task", r.continues_task), ("escalated", r.escalated),
                             ("fallback", r.fallback), ("what-if", r.what_if), ("kept", r.sticky)) if on]
    ladder = ""
    if r.ladder:
        ladder = el("p", "Ladder: ", join([el("span", m, class_="rung here" if i + 1 == r.rung else "rung")
                                           for i, m in enumerate(r.ladder)]),
                    f" (rung {r.rung} of {len(r.ladder)}" + (f"; a failed answer moves it to {r.next_rung})"
                                                              if r.next_rung else "; the top)"))
    cands = [[c.model + (" (chosen)" if c.model == r.model else ""), c.rung or "", pct(c.accuracy),
              f"{pct(c.ci_low)}-{pct(c.ci_high)}" if c.ci_low is not None else "-", c.samples or "-",
              (c.source or "-") + (" (borrowed)" if c.borrowed else ""),
              f"{c.yours_accepted}/{c.yours_accepted + c.yours_failed} -> {pct(c.yours_rate)}"
              if c.yours_accepted + c.yours_failed else "-",
              "yes" if c.clears_bar else "no", usd(c.estimated_cost_usd, 4), "yes" if c.callable else "no"]
             for c in r.candidates]
    return el("article",
              el("h4", f"Turn {r.turn}: ", el("span", r.model, class_="model"), f" · {r.task_class or '-'} · "
                 f"{r.tier}/{r.dial}", el("span", r.time[:19].replace("T", " ") + " UTC", class_="when")),
              el("p", el("code", r.reason_code), " ", r.reason, class_="reason"),
              el("p", f"Task: {r.task_type.replace('_', ' ')}, difficulty {r.difficulty}, confidence "
                      f"{r.confidence:.2f}" + (f" · {', '.join(flags)}" if flags else "")
                 + (f" · the last answer failed: {r.failed_reason}" if r.failed_reason else ""), class_="note"),
              ladder,
              el("p", f"Estimated: {usd(r.estimated_cost_usd, 4)} here (~{r.estimated_input_tokens} tokens in, "
                      f"~{r.estimated_output_tokens} out); {r.balanced_model} {usd(r.balanced_cost_usd, 4)}; "
                      f"{r.frontier_model} {usd(r.frontier_cost_usd, 4)}", class_="note"),
              el("details", el("summary", f"What else was considered ({len(r.candidates)})"),
                 table(["candidate", "rung", "solved", "bounds", "n", "source", "yours", "clears the bar",
                        "this request", "callable"], cands, numeric={2, 4, 8})),
              class_="card", id=f"card-{r.decision_id}", data_decision=r.decision_id, data_model=r.model)


def conversation_page(ctx: Context, c: ConversationFigures) -> bytes:
    rp = c.replay
    steps = [[s.turn, s.task_class or "-", s.model, usd(s.cost_usd, 4), s.replay_model, usd(s.replay_cost_usd, 4),
              s.replay_reason_code, "measured" if s.measured else "estimated"] for s in rp.steps]
    attrs = [{"data-decision": s.decision_id, "data-cost": f"{s.cost_usd:.6f}", "data-replay-model": s.replay_model,
              "data-replay-cost": f"{s.replay_cost_usd:.6f}"} for s in rp.steps]
    other = other_dial(rp.dial)
    switch = el("a", f"replay on {other} instead", href=ctx.link("/decisions", workspace=c.workspace,
                                                                  conversation=c.conversation, dial=other))
    stale = [r for r in c.records if r.leaderboard_version != c.board_version]
    summary = el("p", f"On {rp.dial}, this conversation would have cost ", el("strong", usd(rp.replay_cost_usd, 4),
                                                                               id="replay-cost"),
                 " instead of ", el("strong", usd(rp.cost_usd, 4), id="actual-cost"),
                 f"; {rp.changed} of {len(rp.steps)} decisions would have gone to another model. ", switch, ".",
                 class_="summary")
    notes = [el("p", "The replay keeps the answers that failed where they were (it cannot know whether another model "
                     "would have failed too); each cost is that model's list price on the tokens the answer used "
                     "(measured), or the card's estimate for a request that was routed and not forwarded.",
                class_="note")]
    if stale:
        notes.append(el("p", f"{len(stale)} decisions were made on another leaderboard than {c.board_version}; the "
                             "replay uses the current one.", class_="note"))
    if rp.skipped:
        notes.append(el("p", f"{rp.skipped} decisions chose a model the current leaderboard lacks (a local model "
                             "no longer served, say) and are left out of the replay.", class_="note"))
    return page(ctx, "/decisions", "Decisions",
                el("p", "Conversation ", el("strong", c.conversation), " in ", el("strong", c.workspace), ". ",
                   el("a", "All conversations", href=ctx.link("/decisions")), class_="note"),
                el("h3", f"Replay on {rp.dial}"), summary,
                table(["turn", "class", "chosen", "cost", f"on {rp.dial}", "would cost", "why", ""], steps,
                      id="replay", numeric={0, 3, 5}, row_attrs=attrs),
                *notes,
                el("h3", "Decision cards"), *[_card(ctx, r) for r in reversed(c.records)])


# -- the dial and tier --------------------------------------------------------------------------------
def _choice(name: str, values: tuple[str, ...], current: str | None, inherit: bool) -> Markup:
    options = ([el("option", "as for every workspace", value="", selected=current is None)] if inherit else [])
    options += [el("option", v, value=v, selected=v == current) for v in values]
    return el("select", *options, name=name)


def settings_page(ctx: Context, scopes: list[ScopeSettings], config_file: str, message: str = "",
                  error: str = "") -> bytes:
    forms = []
    for s in scopes:
        is_global = s.workspace is None
        notes = []
        for key, st in (("dial", s.dial), ("tier", s.tier)):
            text = f"{key} in force: {st.value} (from {st.source})"
            if st.overridden:
                text += f"; {st.source} sets it above the config file, so change it there for a change here to count"
            notes.append(el("li", text, class_="overridden" if st.overridden else None))
        forms.append(el(
            "form",
            el("input", type="hidden", name="token", value=ctx.token),
            el("input", type="hidden", name="scope", value="" if is_global else s.workspace),
            el("h4", "Every workspace" if is_global else s.workspace),
            el("label", "Dial ", _choice("dial", DIALS, s.dial.in_file if not is_global else
                                         (s.dial.in_file or s.dial.value), not is_global)),
            el("label", "Tier ", _choice("tier", TIERS, s.tier.in_file if not is_global else
                                         (s.tier.in_file or s.tier.value), not is_global)),
            el("button", "Save", type="submit"),
            el("ul", *notes, class_="note"),
            method="post", action=ctx.link("/settings"), class_="scope",
            data_scope="" if is_global else s.workspace))
    return page(ctx, "/settings", "Dial and tier",
                el("p", message, class_="saved", id="message") if message else "",
                el("p", error, class_="error", id="error") if error else "",
                el("p", "bill: each task starts on the cheapest ladder that, on the benchmark, solves as much as the "
                        "Frontier model alone; bar: on the ladder that solves the most for no more than Frontier "
                        "costs. The dial applies to the efficient tier. Saved to your config file ",
                   el("code", config_file), "; a running sidecar picks the change up at its next request.",
                   class_="note"),
                *forms)


def error_page(ctx: Context, title: str, message: str) -> bytes:
    return page(ctx, "", title, el("p", message, class_="error"))

