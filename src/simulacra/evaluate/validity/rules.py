"""The rules section: each rule of the real table (found or declared), its share of rows, real vs synthetic."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from simulacra.evaluate.context import EvalContext
from simulacra.evaluate.registry import MetricResult, register_metric
from simulacra.rules import describe_rule, discover_rules, rule_mask

if TYPE_CHECKING:
    from simulacra.evaluate.report import Report

#: Rule kinds read from the metadata (the rule language); other constraints stay with ``validity``.
RULE_KINDS = ("derived", "dependency", "bound", "clock", "missing_with", "sum", "inequality", "fixed_combinations")
#: Discovery reads at most this many real rows (a seeded sample); shares are computed on every row.
DISCOVERY_ROWS = 50_000
#: A rule counts as kept by the real table when it holds in at least this share of its rows.
KEPT = 0.999


def _rules_to_check(ctx: EvalContext) -> list[tuple[dict[str, Any], str]]:
    declared = [dict(c) for c in ctx.metadata.constraints if isinstance(c, dict) and c.get("kind") in RULE_KINDS]
    real = ctx.real
    if len(real) > DISCOVERY_ROWS:
        real = real.sample(DISCOVERY_ROWS, random_state=ctx.random_state)
    found = discover_rules(real.reset_index(drop=True), ctx.metadata).rules
    out = [(c, "metadata") for c in declared]
    seen = {describe_rule(c) for c in declared}
    out += [(r, "found") for r in found if describe_rule(r) not in seen]
    return out


@register_metric(
    "rules",
    family="validity",
    ideal="1.0 (every synthetic row obeys every rule the real table keeps)",
    explanation="""
    The table's logic: derived columns (a column computed from others, e.g. hour = sched_dep_time // 100),
    functional dependencies (each value of one column has one value of another, and every synthetic
    pair exists in the real table), orderings (high >= max(open, close)), clock times HHMM (minutes
    below 60) and columns missing together. Rules are found on the real table by the same search as
    `simulacra metadata` (see docs/rules.md), plus those declared in the metadata. For each rule:
    the share of rows that obey it in the real and in the synthetic table (rows where one of its
    columns is missing obey it). The value is the share of synthetic rows that obey every rule the
    real table keeps; rows that break one also lower `validity` (rule_violations).
    """,
)
def rules(ctx: EvalContext) -> MetricResult:
    n = len(ctx.synthetic)
    broken_any = np.zeros(n, dtype=bool)
    entries = []
    for spec, source in _rules_to_check(ctx):
        real_mask = rule_mask(spec, ctx.real, ctx.real)
        syn_mask = rule_mask(spec, ctx.synthetic, ctx.real)
        entry: dict[str, Any] = {"rule": describe_rule(spec), "kind": spec["kind"], "source": source, "spec": spec,
                                 "real": None if real_mask is None else float(real_mask.mean()),
                                 "synthetic": None if syn_mask is None else float(syn_mask.mean())}
        if syn_mask is None:
            entry["note"] = "a column of the rule is not in the synthetic table"
        else:
            entry["broken_rows"] = int((~syn_mask).sum())
            if real_mask is not None and real_mask.mean() >= KEPT:
                broken_any |= ~syn_mask
        entries.append(entry)
    ctx.cache["rule_violations"] = broken_any
    if not entries:
        return MetricResult("rules", "validity", skipped="no rule found in the real table", details={"rules": []})
    kept = [e for e in entries if e["real"] is not None and e["real"] >= KEPT and e["synthetic"] is not None]
    broken = sum(1 for e in kept if e["broken_rows"])
    return MetricResult(
        "rules", "validity", value=float(1.0 - broken_any.mean()) if n else None,
        extras=cast(dict[str, float | None], {"rules_found": float(len(entries)), "rules_broken": float(broken)}),
        details={"rules": entries},
    )


def rules_html(rep: Report) -> str:
    """The report's rules section (HTML)."""
    from simulacra.evaluate import page

    res = rep.results.get("rules")
    if res is None or not res.details.get("rules"):
        reason = res.skipped if res is not None and res.skipped else "not computed"
        return page.section("rules", "Rules", f'<p class="skipped">No rule checked ({escape(reason)}).</p>')
    intro = (f"<p>Share of synthetic rows that obey every rule of the real table: <b>{page.fmt(res.value)}</b> "
             f"({int(res.extras.get('rules_broken') or 0)} of {int(res.extras.get('rules_found') or 0)} rules broken "
             "in some rows). Rules are found on the real table (docs/rules.md) or declared in the metadata.</p>")
    rows = [[f"<code>{escape(e['rule'])}</code>", escape(e["kind"]), escape(e["source"]),
             None if e["real"] is None else f"{e['real']:.4f}", None if e["synthetic"] is None else f"{e['synthetic']:.4f}",
             e.get("broken_rows")] for e in res.details["rules"]]
    head = ["rule", "kind", "from", "share of real rows", "share of synthetic rows", "synthetic rows breaking it"]
    return page.section("rules", "Rules", intro, page.table(head, rows, right=(3, 4)))
